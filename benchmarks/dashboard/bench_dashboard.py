"""The dashboard with 10,000 releases in the store, against the same dashboard with 10, in the same run.

Each store holds releases spread over 90 days, shaped like the engine's: per deploy six transitions, three
verdicts, a deployment record and a commit; 6 % rolled back, 3 % failed at a gate, one manual rollback in 50.
The Starlette app is called in-process (httpx's ASGI transport: no sockets, so the figures are the app's and the
store's); medians of the rounds, ratio 10,000 / 10. The page's health and performance panels read the local
router, which is not part of this measurement (they are marked unavailable here).

    .venv/bin/python -m benchmarks.dashboard.bench_dashboard --rounds 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from keel.dashboard.api import Dashboard
from keel.dashboard.app import create_app
from keel.slo.config import SloSpec
from keel.store import Store

DAY = 86400.0
VERDICT = json.dumps(
    {"outcome": "pass", "metrics": [], "summary": "all metrics passed", "judge": "thresholds"}
)
# a rollout's state carries its last verdict (every metric's data and test): kilobytes per row in real stores
BULK = "x" * 3000
REQUESTS = {
    "css (trivial)": "/static/dashboard.css",
    "dora 30 days": "/api/v1/dora?days=30",
    "dora 365 days": "/api/v1/dora?days=365",
    "deployments page": "/api/v1/deployments?days=365&limit=20",
    "release report": "",  # filled with one release's id
    "HTML page": "/?days=30&refresh=0",
}


def fill(path: Path, releases: int, now: float, seed: int = 7) -> str:
    """``releases`` rollouts written straight into a store made by keel (bulk inserts); returns one id."""
    Store(path, service="svc").close()  # the schema, as keel makes it
    rand = random.Random(seed)
    db = sqlite3.connect(path)
    rollouts, transitions, verdicts, deployments, commits = [], [], [], [], []
    span = 90 * DAY
    for i in range(releases):
        rid = f"r-{i:08d}"
        started = now - span + span * i / releases
        roll = rand.random()
        kind = "rollback" if i % 50 == 49 else "deploy"
        phase = (
            "rolled_back" if kind == "rollback" or roll < 0.06 else "failed" if roll < 0.09 else "promoted"
        )
        finished = started + 300
        state = json.dumps({"id": rid, "kind": kind, "service": "svc", "environment": "prod", "revision": f"svc-{i}",
                            "previous": f"svc-{i - 1}", "phase": phase, "created": started, "updated": finished,
                            "finished": finished, "last_probe": BULK})  # fmt: skip
        rollouts.append(
            (rid, "prod", "svc", kind, f"svc-{i}", f"svc-{i - 1}", phase, 0, state, started, finished)
        )
        path_phases = ["pending", "deploying", "health_gate", "smoke_gate", "shifting", "holding"]
        for n, (a, b) in enumerate(zip(path_phases, [*path_phases[1:], phase], strict=True)):
            weight = 10 if b in ("holding", "rolled_back") else 100 if b == "promoted" else None
            transitions.append((rid, started + n * 40, a, b, "step", weight))
        for look in range(3):
            verdicts.append((rid, 0, look + 1, started + 100 + look * 30, "pass", VERDICT))
        if kind == "deploy":
            deployments.append((rid, "prod", "svc", f"svc-{i}", f"svc-{i - 1}", started, finished, phase,
                                int(phase == "rolled_back")))  # fmt: skip
            commits.append((rid, "svc", "prod", f"{i:040x}", started - 3600, "git"))
    db.executemany("INSERT INTO rollouts VALUES (?,?,?,?,?,?,?,?,?,?,?)", rollouts)
    db.executemany(
        "INSERT INTO transitions (rollout_id, at, from_phase, to_phase, reason, weight) VALUES (?,?,?,?,?,?)",
        transitions,
    )
    db.executemany(
        "INSERT INTO verdicts (rollout_id, step, look, at, outcome, verdict) VALUES (?,?,?,?,?,?)", verdicts
    )
    db.executemany("INSERT INTO deployments VALUES (?,?,?,?,?,?,?,?,?)", deployments)
    db.executemany("INSERT INTO commits VALUES (?,?,?,?,?,?)", commits)
    db.commit()
    db.close()
    return f"r-{releases - 2:08d}"


async def time_requests(store: Store, now: float, release: str, rounds: int) -> dict[str, float]:
    board = Dashboard(store, "svc", "prod", {"availability": SloSpec(objective=99.9)}, clock=lambda: now)
    paths = {**REQUESTS, "release report": f"/api/v1/deployments/{release}"}
    timings: dict[str, list[float]] = {name: [] for name in paths}
    transport = httpx.ASGITransport(app=create_app(board))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(rounds):
            for name, path in paths.items():
                started = time.perf_counter()
                response = await client.get(path)
                timings[name].append(time.perf_counter() - started)
                assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return {name: statistics.median(values) * 1000.0 for name, values in timings.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for size in (10, args.large):
            path = Path(tmp) / f"keel-{size}.db"
            started = time.perf_counter()
            release = fill(path, size, now)
            print(f"filled {size} releases in {time.perf_counter() - started:.1f}s")
            with Store(path, service="svc") as store:
                results[size] = asyncio.run(time_requests(store, now, release, args.rounds))
    print(f"| request | {10} releases ms | {args.large} releases ms | ratio |")
    print("|---|---:|---:|---:|")
    for name in REQUESTS:
        small, large = results[10][name], results[args.large][name]
        print(f"| {name} | {small:.1f} | {large:.1f} | {large / small:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
