"""The server under test: a bare ASGI handler and keel.health's probes in one uvicorn process."""

from __future__ import annotations

import os

from keel.health import Health, HealthConfig, HealthMiddleware, SqlCheck
from keel.types import ASGIApp, Receive, Scope, Send


def make_app() -> ASGIApp:
    """``/bare`` answers before keel.health sees the request, with the bytes and headers of /health/live."""
    health = Health(HealthConfig(app="bench", ready_ttl=3600.0))  # readiness stays cached for the run
    health.add(SqlCheck(url=os.environ["BENCH_DATABASE_URL"]), critical=True)
    health.mark_started()
    probes = HealthMiddleware(None, health)
    body = b'{"status":"healthy","app":"bench","check":"liveness"}'
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ],
    }
    done = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/bare":
            await send(start)
            await send(done)
            return
        await probes(scope, receive, send)

    return app
