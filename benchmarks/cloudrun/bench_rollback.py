"""Rollback on Cloud Run (the emulator) against the local platform, in one run: time from a failing verdict to
keel's traffic update request, and to 100 % on the previous revision.

Each round releases a candidate whose analysis fails at its first look (10 % step) while four clients send
requests through the service URL. Per round, for the Cloud Run adapter on the emulator:

- verdict -> request: the engine's ``fail_at`` to the emulator receiving the traffic PATCH;
- verdict -> 100 % (emulator): ``fail_at`` to the emulator's routers serving the previous revision alone;
- verdict -> 100 % (engine): ``switched_at - fail_at``, keel's own record (it includes awaiting the
  long-running operation through the official client);

and the same engine figure for the local platform (the reference) in the same run.

    .venv/bin/python -m benchmarks.cloudrun.bench_rollback --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.rollback.bench_rollback import UPSTREAM, Sampler, analyzer
from keel.emulators.cloudrun.config import EmulatorConfig
from keel.emulators.cloudrun.server import Emulator, running
from keel.platforms.cloudrun import CloudRunConfig, CloudRunPlatform
from keel.platforms.local import LocalPlatform
from keel.probing import HttpProber
from keel.rollout.engine import EngineSettings, RolloutEngine
from keel.rollout.gates import NoSmokeGate
from keel.rollout.runner import new_deploy, run_to_rest
from keel.spec import HealthGate, RollbackPolicy, Step
from keel.store import Store

SETTINGS = EngineSettings(
    health=HealthGate(path="/health/ready", passes=1, deadline=60, interval=0.1, timeout=2),
    rollback=RollbackPolicy(passes=1, deadline=30, interval=0.1),
    look_interval=0.5,
)


async def release(platform: Any, store: Store, service: str, env: dict[str, str], steps: list[Step]) -> Any:
    rollout = new_deploy(
        store, service=service, environment="bench", steps=steps, clock=time.time, revision_env=env
    )
    engine = RolloutEngine(
        rollout, store=store, platform=platform, prober=HttpProber(), smoke=NoSmokeGate(), analyzer=analyzer,
        settings=SETTINGS, clock=time.time,
    )  # fmt: skip
    return await run_to_rest(engine, time.time, asyncio.sleep)


async def one_round(platform: Any, store: Store, service: str, url: str, n: int) -> Any:
    sampler = Sampler(url)
    task = asyncio.create_task(sampler.run())
    final = await release(
        platform, store, service, {"REVISION": f"c{n}"}, [Step(weight=10, hold=30), Step(weight=100)]
    )
    await asyncio.sleep(0.3)
    sampler.stop()
    await task
    assert final.phase.value == "rolled_back", final.reason
    return final, sampler.errors


async def cloudrun_rounds(emulator: Emulator, rounds: int, directory: Path) -> list[dict[str, float]]:
    config = CloudRunConfig(platform="cloudrun", project="bench", region="local", service="bench", image="upstream",
                            api_endpoint=emulator.url)  # fmt: skip
    platform = CloudRunPlatform(config, keel_service="bench")
    store = Store(directory / "cloudrun.db")
    first = await release(platform, store, "bench", {"REVISION": "base"}, [Step(weight=100)])
    assert first.phase.value == "promoted", first.reason
    url = emulator.runtime.service_url("bench")
    out = []
    for n in range(rounds):
        final, errors = await one_round(platform, store, "bench", url, n)
        after = [e for e in emulator.api.events if e[0] >= final.fail_at]
        request = next(e[0] for e in after if e[2].startswith("update:"))
        routed = next(e[0] for e in after if e[2] == "routed" and e[3] == {first.revision: 100})
        out.append({
            "request_s": request - final.fail_at, "emulator_s": routed - final.fail_at,
            "engine_s": final.switched_at - final.fail_at, "errors": float(errors),
        })  # fmt: skip
        r = out[-1]
        print(f"cloudrun round {n + 1}: verdict -> request {r['request_s'] * 1000:.1f} ms, -> 100 % in the emulator "
              f"{r['emulator_s'] * 1000:.1f} ms, -> 100 % (engine) {r['engine_s'] * 1000:.1f} ms; {errors} errors",
              flush=True)  # fmt: skip
    store.close()
    return out


async def local_rounds(rounds: int, directory: Path) -> list[dict[str, float]]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    platform = LocalPlatform("bench", "bench", [sys.executable, str(UPSTREAM)], port, directory / "local")
    store = Store(directory / "local.db")
    out = []
    try:
        first = await release(platform, store, "bench", {"REVISION": "base"}, [Step(weight=100)])
        assert first.phase.value == "promoted", first.reason
        for n in range(rounds):
            final, errors = await one_round(platform, store, "bench", platform.url, n)
            out.append({"engine_s": final.switched_at - final.fail_at, "errors": float(errors)})
            print(
                f"local round {n + 1}: verdict -> 100 % (engine) {out[-1]['engine_s'] * 1000:.1f} ms",
                flush=True,
            )
    finally:
        await platform.stop()
        store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="keel-bench-cloudrun-"))
    config = EmulatorConfig(images={"upstream": (sys.executable, str(UPSTREAM))}, ingestion_delay=0)
    with running(config) as emulator:
        cloud = asyncio.run(cloudrun_rounds(emulator, args.rounds, directory))
    local = asyncio.run(local_rounds(args.rounds, directory))

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"

    print(f"cloudrun verdict -> traffic request: {ms([r['request_s'] for r in cloud])}")
    print(f"cloudrun verdict -> 100 % in the emulator: {ms([r['emulator_s'] for r in cloud])}")
    print(f"cloudrun verdict -> 100 % (engine, operation awaited): {ms([r['engine_s'] for r in cloud])}")
    print(f"local verdict -> 100 % (engine): {ms([r['engine_s'] for r in local])}")
    ratio = statistics.median([r["engine_s"] for r in cloud]) / statistics.median(
        [r["engine_s"] for r in local]
    )
    print(f"ratio cloudrun / local (engine, medians): {ratio:.2f}")
    print(
        f"transport errors: cloudrun {sum(r['errors'] for r in cloud):.0f}, local {sum(r['errors'] for r in local):.0f}"
    )


if __name__ == "__main__":
    main()
