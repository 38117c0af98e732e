"""Cost per request of the health paths inside the process (no server, no sockets): what keel.health adds.

.venv/bin/python -m benchmarks.health.bench_inprocess [--calls 50000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.health.apps import make_app
from keel.types import Message


async def measure(calls: int, repeats: int) -> dict[str, float]:
    app = make_app()

    async def send(message: Message) -> None:
        return None

    async def receive() -> Message:
        return {"type": "http.request"}

    results: dict[str, list[float]] = {"/bare": [], "/health/live": [], "/health/ready": []}
    for _ in range(repeats):
        for path, samples in results.items():
            scope = {"type": "http", "method": "GET", "path": path, "headers": [(b"host", b"bench")]}
            await app(scope, receive, send)  # warm (fills the readiness cache)
            started = time.perf_counter()
            for _ in range(calls):
                await app(scope, receive, send)
            samples.append((time.perf_counter() - started) / calls * 1e6)
    return {path: statistics.median(samples) for path, samples in results.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ["BENCH_DATABASE_URL"] = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    for path, micros in asyncio.run(measure(args.calls, args.repeats)).items():
        print(f"{path:15s} {micros:6.2f} µs per request (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
