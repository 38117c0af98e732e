"""A tiny revision for the local platform's tests: tells its name, can be slow, can err, can crash at start.

Run as ``python revision_app.py`` with PORT and REVISION set; CRASH_AT_START=1 exits at once with code 3,
ERROR_RATE=0.05 makes that share of ``/`` answers 500 (deterministically: every 1/rate-th request).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


def make_app(revision: str, error_rate: float = 0.0) -> Starlette:
    """The app of one revision: answers carry ``x-revision``; every 1/error_rate-th ``/`` answers 500."""
    headers = {"x-revision": revision}
    count = 0

    async def index(request: Request) -> Response:
        nonlocal count
        count += 1
        if error_rate and count % round(1 / error_rate) == 0:
            return PlainTextResponse("injected failure", status_code=500, headers=headers)
        return PlainTextResponse(revision, headers=headers)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        return PlainTextResponse(f"{revision} slow", headers=headers)

    async def ready(request: Request) -> Response:
        return PlainTextResponse("ready", headers=headers)

    async def fail(request: Request) -> Response:
        return PlainTextResponse("failed on purpose", status_code=503, headers=headers)

    async def echo(request: Request) -> Response:
        return Response(await request.body(), headers=headers)

    async def chunked(request: Request) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(5):
                yield f"part{i};".encode()

        return StreamingResponse(parts(), headers=headers)

    async def env(request: Request) -> Response:
        return PlainTextResponse(os.environ.get(request.query_params["name"], ""), headers=headers)

    async def pid(request: Request) -> Response:
        return PlainTextResponse(str(os.getpid()), headers=headers)

    return Starlette(
        routes=[
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/slow", slow),
            Route("/health/ready", ready),
            Route("/fail", fail),
            Route("/echo", echo, methods=["POST"]),
            Route("/chunked", chunked),
            Route("/env", env),
            Route("/pid", pid),
        ]
    )


def main() -> None:
    if os.environ.get("CRASH_AT_START") == "1":
        print("crashing at start on purpose", file=sys.stderr)
        sys.exit(3)
    app = make_app(os.environ.get("REVISION", "unnamed"), float(os.environ.get("ERROR_RATE", "0") or 0))
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
