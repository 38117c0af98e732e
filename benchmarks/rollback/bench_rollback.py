"""Time from a failing verdict to 100 % of traffic on the previous revision, on the real local platform.

Each round releases a candidate whose analysis fails at its first look (10 % step), while a sampler sends
requests through the router all along. Figures per round:

- engine: ``switched_at - fail_at`` as the engine records them (verdict known -> router confirmed 100 %);
- router: the last request that *started* before the switch confirmed and was answered by the canary, and
  how many requests that started after the switch still reached the canary (must be 0).

    .venv/bin/python -m benchmarks.rollback.bench_rollback --rounds 7
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from keel.analysis.base import Analyzer, Look, Outcome, Verdict
from keel.platforms.local import LocalPlatform
from keel.probing import HttpProber
from keel.rollout.engine import EngineSettings, RolloutEngine
from keel.rollout.gates import NoSmokeGate
from keel.rollout.runner import new_deploy, run_to_rest
from keel.spec import HealthGate, RollbackPolicy, Step
from keel.store import Store

UPSTREAM = Path(__file__).resolve().parents[1] / "router" / "upstream.py"


class FailAtOnce:
    async def analyze(self, canary: str, baseline: str | None, look: Look) -> Verdict:
        return Verdict(Outcome.FAIL, (), "benchmark: fail at the first look", "bench")


def analyzer(has_baseline: bool) -> Analyzer:
    return FailAtOnce()


class Sampler:
    """Requests through the router from a few concurrent clients: (start, end, revision) per answer."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url, self.clients = url, clients
        self.samples: list[tuple[float, float, str]] = []
        self.errors = 0
        self._stop = asyncio.Event()

    async def _client(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                start = time.time()
                try:
                    response = await client.get("/")
                    self.samples.append((start, time.time(), response.text.split(" ", 1)[0]))
                except httpx.HTTPError:
                    self.errors += 1

    async def run(self) -> None:
        await asyncio.gather(*(self._client() for _ in range(self.clients)))

    def stop(self) -> None:
        self._stop.set()


async def one_round(
    platform: LocalPlatform, store: Store, settings: EngineSettings, n: int
) -> dict[str, float]:
    steps = [Step(weight=10, hold=30), Step(weight=100)]
    rollout = new_deploy(
        store,
        service="bench",
        environment="bench",
        steps=steps,
        clock=time.time,
        revision_env={"REVISION": f"c{n}"},
    )
    engine = RolloutEngine(
        rollout, store=store, platform=platform, prober=HttpProber(), smoke=NoSmokeGate(), analyzer=analyzer,
        settings=settings, clock=time.time,
    )  # fmt: skip
    sampler = Sampler(platform.url)
    task = asyncio.create_task(sampler.run())
    final = await run_to_rest(engine, time.time, asyncio.sleep)
    await asyncio.sleep(0.5)
    sampler.stop()
    await task
    assert final.phase.value == "rolled_back", final.reason
    assert final.fail_at is not None and final.switched_at is not None
    canary = [s for s in sampler.samples if s[2] == f"c{n}"]
    late = [s for s in canary if s[0] > final.switched_at]
    last_start = max((s[0] for s in canary), default=final.fail_at)
    return {
        "engine_s": final.switched_at - final.fail_at,
        "last_canary_start_s": last_start - final.fail_at,
        "canary_answers": float(len(canary)),
        "started_after_switch_on_canary": float(len(late)),
        "transport_errors": float(sampler.errors),
    }


async def main_async(rounds: int) -> list[dict[str, float]]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    directory = Path(tempfile.mkdtemp(prefix="keel-bench-rollback-"))
    platform = LocalPlatform("bench", "bench", [sys.executable, str(UPSTREAM)], port, directory / "bench")
    store = Store(directory / "keel.db")
    settings = EngineSettings(
        health=HealthGate(path="/health/ready", passes=1, deadline=30, interval=0.1, timeout=2),
        rollback=RollbackPolicy(passes=1, deadline=10, interval=0.1),
        look_interval=0.5,
    )
    results = []
    try:
        first = new_deploy(
            store, service="bench", environment="bench", steps=[Step(weight=100)], clock=time.time,
            revision_env={"REVISION": "base"},
        )  # fmt: skip
        engine = RolloutEngine(
            first, store=store, platform=platform, prober=HttpProber(), smoke=NoSmokeGate(), analyzer=analyzer,
            settings=settings, clock=time.time,
        )  # fmt: skip
        assert (await run_to_rest(engine, time.time, asyncio.sleep)).phase.value == "promoted"
        for n in range(rounds):
            results.append(await one_round(platform, store, settings, n))
            r = results[-1]
            print(
                f"round {n + 1}: verdict -> 100% on previous {r['engine_s'] * 1000:.1f} ms (engine); last canary "
                f"request started {r['last_canary_start_s'] * 1000:.1f} ms after the verdict; "
                f"{int(r['started_after_switch_on_canary'])} started after the switch reached the canary; "
                f"{int(r['transport_errors'])} transport errors",
                flush=True,
            )
    finally:
        await platform.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    results = asyncio.run(main_async(args.rounds))
    for key in ("engine_s", "last_canary_start_s"):
        values = [r[key] for r in results]
        print(f"{key}: median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms")
    print(
        f"requests started after the switch that reached the canary: {sum(r['started_after_switch_on_canary'] for r in results):.0f}"
    )
    print(f"transport errors: {sum(r['transport_errors'] for r in results):.0f}")


if __name__ == "__main__":
    main()
