"""The embedded watcher: its cost on the service and its own CPU, and its detection time per rule side by
side with Prometheus + Alertmanager on the same injected fault.

1. Scrape cost: a Bayit+ process (SQLite); its CPU time (/proc/<pid>/stat) per watcher scrape (GET readiness
   + GET /metrics) against its CPU time per API request (GET /api/v1/content), same process, same run.
2. Evaluation cost: the watcher's CPU per evaluation of the default rules (3-day history, 8640 samples at
   30 s) against one parse of the service's /metrics text.
3. Detection: the real stack (tests/keel/slo/realstack.py) at test scale (1 s scrape and evaluation), the
   watcher running beside Prometheus on the same Bayit+; from the fault's start to the watcher's firing and to
   Alertmanager's notification at the receiver. Theoretical minimum per rule in the report.

    .venv/bin/python -m benchmarks.alerting.bench_watcher [--rounds 2] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from tests.keel.slo.realstack import Bayit, Load, pd_events, real_stack, slack_titles, until

from keel.analysis.base import LatencyHistogram
from keel.slo.config import AlertsSpec
from keel.slo.rules import build_rules
from keel.slo.samples import Sample, parse_metrics
from keel.slo.watcher import Change, Watcher

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def scrape_cost(requests: int) -> tuple[dict[str, float], str]:
    """Service CPU per API request and per scrape, and the /metrics text (for the parse cost)."""
    with tempfile.TemporaryDirectory() as tmp:
        bayit = Bayit(_port(), Path(tmp) / "b.db")
        bayit.start()
        assert bayit.proc is not None
        base = f"http://127.0.0.1:{bayit.port}"
        try:
            with httpx.Client(timeout=10) as client:
                for _ in range(50):  # warm-up: route caches, metric children
                    client.get(base + "/api/v1/content")
                    client.get(base + "/metrics")
                before = cpu_seconds(bayit.proc.pid)
                for _ in range(requests):
                    client.get(base + "/api/v1/content")
                api = (cpu_seconds(bayit.proc.pid) - before) / requests
                before = cpu_seconds(bayit.proc.pid)
                for _ in range(requests):
                    client.get(base + "/health/ready")
                    client.get(base + "/metrics")
                scrape = (cpu_seconds(bayit.proc.pid) - before) / requests
                text = client.get(base + "/metrics").text
        finally:
            bayit.stop()
    return {"api_ms": api * 1000, "scrape_ms": scrape * 1000, "metrics_bytes": float(len(text))}, text


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Steady:
    """A target whose counters grow steadily (healthy traffic), for the evaluation-cost measurement."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.n = 0

    async def sample(self) -> Sample:
        self.n += 1
        bounds = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, math.inf)
        counts = tuple(self.n * 30 if i < 4 else self.n for i in range(len(bounds)))
        return Sample(self.clock[0], self.n * 3000.0, self.n * 1.0, LatencyHistogram(bounds, counts))

    async def aclose(self) -> None:
        return None


def evaluation_cost(metrics_text: str) -> dict[str, float]:
    alerts = AlertsSpec()
    clock = [0.0]
    watcher = Watcher(build_rules(alerts, service="bayit"), _Steady(clock), interval=30.0, notifiers={},
                      routes=alerts.routes, service="bayit", environment="bench", clock=lambda: clock[0])  # fmt: skip

    async def fill(n: int) -> None:
        for _ in range(n):
            clock[0] += 30.0
            await watcher.evaluate_once()

    asyncio.run(fill(8640 + 10))  # three days of history at 30 s
    started = time.process_time()
    asyncio.run(fill(20))
    per_eval = (time.process_time() - started) / 20
    started = time.process_time()
    for _ in range(200):
        parse_metrics(metrics_text, alerts.signals, 0.0)
    per_parse = (time.process_time() - started) / 200
    return {"eval_ms": per_eval * 1000, "parse_ms": per_parse * 1000, "history": float(len(watcher.history))}


def detection_round(tmp: Path) -> dict[str, dict[str, float]]:
    """Seconds from each fault's start to the watcher's firing and to Alertmanager's notification."""
    fired: dict[str, float] = {}
    with real_stack(tmp) as parts:
        bayit: Bayit = parts["bayit"]
        watcher, _ = Watcher.from_spec(parts["spec"], "e2e", f"http://127.0.0.1:{bayit.port}",
                                       on_change=lambda c: _first(fired, c))  # fmt: skip
        stop = threading.Event()
        thread = threading.Thread(target=_run_watcher, args=(watcher, stop), daemon=True)
        out: dict[str, dict[str, float]] = {}
        pd, slack = parts["pd"], parts["slack"]

        def am_page(name: str, since: float) -> float | None:
            hits = [t for t, a, e in pd_events(pd) if a == name and e == "trigger" and t >= since]
            return min(hits) if hits else None

        def am_warning(name: str, since: float) -> float | None:
            hits = [
                t for t, title in slack_titles(slack) if "FIRING" in title and name in title and t >= since
            ]
            return min(hits) if hits else None

        def measure(names: dict[str, Any], t0: float) -> None:
            for name, am in names.items():
                until(lambda name=name, am=am: name in fired and fired[name] >= t0 and am(name, t0) is not None,
                      f"{name} detected", timeout=120)  # fmt: skip
                out[name] = {"watcher": fired[name] - t0, "alertmanager": am(name, t0) - t0}

        bayit.start()
        with Load(f"http://127.0.0.1:{bayit.port}/api/v1/content") as load:
            thread.start()
            time.sleep(5)  # healthy traffic in both histories first
            # errors: a faulty process replaces the healthy one; its first 500 is the fault's start
            bayit.stop()
            load.mark()
            bayit.start(BAYIT_FAULT_ERROR_RATE="0.5")
            until(lambda: 500 in load.first, "first injected 500")
            measure({"HighErrorRate": am_page, "SLOErrorBudgetBurn": am_page}, load.first[500])
            t0 = time.monotonic()
            bayit.stop()
            measure({"ReadinessFailing": am_page}, t0)
            load.mark()
            bayit.start(BAYIT_FAULT_LATENCY_MS="400")
            until(lambda: 200 in load.first, "first slow answer")
            measure({"HighLatencyP95": am_warning}, load.first[200])
        stop.set()
        thread.join(timeout=10)
    return out


def _first(fired: dict[str, float], change: Change) -> None:
    if change.event == "firing":
        fired[change.name] = time.monotonic()


def _run_watcher(watcher: Watcher, stop: threading.Event) -> None:
    async def main() -> None:
        done = asyncio.Event()

        async def relay() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.1)
            done.set()

        relay_task = asyncio.create_task(relay())
        await watcher.run(done)
        await relay_task
        await watcher.aclose()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    cost, text = scrape_cost(args.requests)
    print(f"service CPU per API request {cost['api_ms']:.2f} ms, per scrape (readiness + /metrics) "
          f"{cost['scrape_ms']:.2f} ms: one scrape = {cost['scrape_ms'] / cost['api_ms']:.2f} API requests; "
          f"/metrics {cost['metrics_bytes'] / 1024:.1f} KiB")  # fmt: skip
    for interval in (30.0, 10.0, 1.0):
        share = cost["scrape_ms"] / 1000 / interval * 100
        print(f"  at a {interval:g} s interval: {share:.3f} % of one core")
    ev = evaluation_cost(text)
    print(f"watcher CPU per evaluation of the default rules over {ev['history']:.0f} samples: "
          f"{ev['eval_ms']:.2f} ms; one /metrics parse {ev['parse_ms']:.2f} ms")  # fmt: skip
    rounds = []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            result = detection_round(Path(tmp))
        rounds.append(result)
        print(f"round {i + 1}: " + ", ".join(
            f"{n} watcher {v['watcher']:.1f} s / Prometheus+AM {v['alertmanager']:.1f} s" for n, v in result.items()
        ))  # fmt: skip
    for name in rounds[0]:
        w = statistics.median(r[name]["watcher"] for r in rounds)
        a = statistics.median(r[name]["alertmanager"] for r in rounds)
        print(f"median {name}: watcher {w:.1f} s, Prometheus + Alertmanager {a:.1f} s")


if __name__ == "__main__":
    main()
