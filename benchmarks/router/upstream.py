"""The revision the router benchmarks proxy to: uvicorn (httptools, uvloop) serving a raw ASGI app that
answers a small fixed body, so the upstream costs as little as a Python service can and the router's own
cost shows. Run with PORT and REVISION set."""

from __future__ import annotations

import os
from typing import Any

import uvicorn

REVISION = os.environ.get("REVISION", "r")
BODY = (REVISION + " " + "x" * 200).encode()
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
        lifespan="off",
    )
