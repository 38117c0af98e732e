"""CPU per request of GET /api/v1/content?limit=20 inside the process (no HTTP server, no sockets; a real
PostgreSQL): where the catalog's time goes, next to the lean reference. Each app is called directly through
ASGI by 16 concurrent clients; ``--profile`` prints cProfile's top functions for the last one measured.

    .venv/bin/python -m benchmarks.bayit.profile_content [--requests 4000] [--apps reference,bare,instrumented]
        [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import sys
import time
from typing import Any

from tests.support.postgres import PostgresServer, find_bindir

from bayit.db import Database
from bayit.migrate import upgrade
from bayit.seed import seed

CLIENTS = 16
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/api/v1/content",
    "raw_path": b"/api/v1/content",
    "query_string": b"limit=20",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 5555),
    "server": ("127.0.0.1", 8000),
}


async def measure(app: Any, requests: int, profiler: cProfile.Profile | None) -> tuple[float, dict[int, int]]:
    """CPU microseconds per request of the whole process, after a warm-up; the statuses seen."""
    started = asyncio.Event()
    lifespan: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    lifespan.put_nowait({"type": "lifespan.startup"})

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, lifespan.get, lifespan_send)
    )
    await started.wait()
    await asyncio.sleep(1.5)  # the service's start-up (readiness) settles
    statuses: dict[int, int] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    async def client(calls: int) -> None:
        for _ in range(calls):
            await app({**SCOPE, "state": {}}, receive, send)

    await asyncio.gather(*(client(50) for _ in range(CLIENTS)))  # warm-up: pools filled, statements prepared
    if profiler is not None:
        profiler.enable()
    cpu = time.process_time()
    await asyncio.gather(*(client(requests // CLIENTS) for _ in range(CLIENTS)))
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
    lifespan.put_nowait({"type": "lifespan.shutdown"})
    await task
    return cpu / (requests // CLIENTS * CLIENTS) * 1e6, statuses


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--apps", default="reference,bare,instrumented")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL not installed")
    import uvloop

    pg = PostgresServer(bindir)
    pg.init()
    pg.start()
    try:
        url = pg.url("postgres")

        async def prepare() -> None:
            db = Database(url)
            await upgrade(db.engine)
            await seed(db)
            await db.dispose()

        asyncio.run(prepare())
        os.environ.update(
            DATABASE_URL=url, SECRET_KEY="kT9vQ2mX7pL4wR8zN3bH6jF1cY5dG0sA-tUeWiOqPy", LOG_LEVEL="INFO"
        )
        from benchmarks.bayit import apps

        profiler = None
        for name in args.apps.split(","):
            app = getattr(apps, name)()
            for (
                handler
            ) in logging.getLogger().handlers:  # the access log is formatted and written, to nowhere
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 -- for the process's life
            profiler = cProfile.Profile() if args.profile else None
            cpu_us, statuses = uvloop.run(measure(app, args.requests, profiler))
            print(f"{name:13s} {cpu_us:6.0f} us CPU per request  statuses {statuses}", flush=True)
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    finally:
        pg.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
