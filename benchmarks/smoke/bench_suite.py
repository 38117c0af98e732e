"""Run time of the shipped Bayit+ smoke suite (smoke.yaml) against a local `bayit serve`: the first run
against a freshly started instance (cold) and the following runs (warm).

    .venv/bin/python -m benchmarks.smoke.bench_suite [--runs 10] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
from pathlib import Path

from tests.support.postgres import PostgresServer, find_bindir, free_port
from tests.support.processes import start_bayit, wait_http

from keel.smoke import load_suite, run_suite

ROOT = Path(__file__).resolve().parents[2]


async def measure(url: str, runs: int) -> list[float]:
    suite = load_suite(ROOT / "smoke.yaml")
    durations = []
    for _ in range(runs):
        report = await run_suite(suite, url)
        if not report.passed:
            raise SystemExit(f"suite failed: {report.failures}")
        durations.append(report.duration_s)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pg: PostgresServer | None = None
        if args.postgres:
            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("PostgreSQL binaries not found")
            pg = PostgresServer(bindir)
            pg.init()
            pg.start()
            database = pg.create_database("smoke_bench")
        else:
            database = f"sqlite+aiosqlite:///{tmp}/bayit.db"
        port = free_port()
        process = start_bayit(port, {"DATABASE_URL": database, "ENVIRONMENT": "development"}, "--seed")
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/health/ready", timeout=90)
            durations = asyncio.run(measure(url, args.runs))
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
            if pg is not None:
                pg.destroy()
    warm = durations[1:]
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"| {backend} | {durations[0]:.2f} s | {statistics.median(warm):.2f} s | {max(warm):.2f} s | {len(warm)} |"
    )


if __name__ == "__main__":
    main()
