"""What a shared PostgreSQL store costs a rollout, against the SQLite file in the same run.

Per round and backend: one engine tick's writes (a heartbeat and a persisted transition with its state), a
lock taken and released (the read-check-write that serializes two machines), and the reads a resume does
(active rollout, serving history). A throw-away local PostgreSQL (TCP on loopback, fsync off like the test
suite's) against SQLite in WAL mode on the local disk; medians over rounds, ratio PostgreSQL / SQLite.

    .venv/bin/python -m benchmarks.store.bench_store --rounds 5 --ops 300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from keel.store import LockInfo, RolloutRow, Store

STATE = {
    "step": 1,
    "weight": 10,
    "steps": [{"weight": w, "hold": 600} for w in (10, 50, 100)],
    "env": {"A": "x"},
}


def per_op(ops: int, fn: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(ops):
        fn(i)
    return (time.perf_counter() - start) / ops * 1e6


def measure(store: Store, ops: int) -> dict[str, float]:
    rid = f"r-{uuid.uuid4().hex[:8]}"
    store.insert_rollout(
        RolloutRow(rid, "prod", "svc", "deploy", "svc-1", None, "holding", True, STATE, 1.0, 1.0)
    )
    owner = f"deploy:{rid}"
    store.try_lock(LockInfo("prod", owner, "h", 1, 1.0, 1.0, rid), lambda _: False)
    store.record_serving("prod", "svc-0", 1.0, None, "promoted")

    def tick(i: int) -> None:
        store.heartbeat("prod", owner, float(i), rid)
        store.save_transition(
            rid, from_phase="holding", to_phase="holding", reason="", active=True, state=STATE, at=float(i),
            previous="svc-0",
        )  # fmt: skip

    def lock(i: int) -> None:
        other = f"deploy:{i}"
        store.try_lock(LockInfo("staging", other, "h", 1, float(i), float(i), None), lambda _: False)
        store.release_lock("staging", other)

    def resume_reads(i: int) -> None:
        store.active_rollout("prod")
        store.serving_history("prod")

    return {"tick": per_op(ops, tick), "lock": per_op(ops, lock), "reads": per_op(ops, resume_reads)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ops", type=int, default=300)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support.postgres import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        print("PostgreSQL binaries not found", file=sys.stderr)
        return 2
    server = PostgresServer(bindir)
    server.init()
    server.start()
    try:
        url = server.create_database("bench_store")
        with tempfile.TemporaryDirectory() as tmp:
            results: dict[str, dict[str, list[float]]] = {"sqlite": {}, "postgres": {}}
            for n in range(args.rounds):
                order = [("sqlite", f"sqlite:///{tmp}/keel.db"), ("postgres", url)]
                for name, location in order if n % 2 == 0 else order[::-1]:
                    with Store(location, service="svc") as store:
                        for op, value in measure(store, args.ops).items():
                            results[name].setdefault(op, []).append(value)
        print("| operation | SQLite µs (median) | PostgreSQL µs (median) | ratio PG / SQLite |")
        print("|---|---|---|---|")
        for op in ("tick", "lock", "reads"):
            sqlite = statistics.median(results["sqlite"][op])
            postgres = statistics.median(results["postgres"][op])
            print(f"| {op} | {sqlite:.0f} | {postgres:.0f} | {postgres / sqlite:.2f} |")
    finally:
        server.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
