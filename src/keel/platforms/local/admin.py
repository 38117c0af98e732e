"""The daemon's admin API (loopback, bearer token from daemon.json): JSON over HTTP for LocalPlatform.

    GET    /v1/daemon                    who serves: pid, service, env, router port
    GET    /v1/revisions                 revisions, oldest first
    POST   /v1/revisions                 {name, command, env, cwd} -> the revision (201)
    DELETE /v1/revisions/{name}          stop and forget a revision (409 while it has traffic)
    GET    /v1/traffic                   {"weights": {...}} in effect in the router
    PUT    /v1/traffic                   {"weights": {...}} -> the split now in effect
    GET    /v1/metrics                   totals per revision (requests, errors, status codes)
    GET    /v1/metrics/{name}?start=&end=   one revision's window; the infinite bound is "+Inf"
    POST   /v1/shutdown                  {"forget": true} stops everything (and forgets the revisions)

Errors answer {"error": message} with 400 (bad input), 404 (no such revision) or 409 (conflict).
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keel.platforms.local.daemon import Conflict, Daemon, NotFound
from keel.platforms.local.errors import LocalPlatformError
from keel.platforms.local.metrics import window_to_json
from keel.types import ASGIApp, Receive, Scope, Send


def _error(exc: LocalPlatformError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
    return JSONResponse({"error": str(exc)}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:
        raise LocalPlatformError("request body is not JSON") from exc
    if not isinstance(data, dict):
        raise LocalPlatformError("request body must be a JSON object")
    return data


def admin_app(daemon: Daemon, token: str) -> ASGIApp:
    expected = f"Bearer {token}".encode()

    async def who(request: Request) -> Response:
        return JSONResponse(
            {
                "pid": os.getpid(),
                "service": daemon.service,
                "env": daemon.env_name,
                "router_port": daemon.router_port,
                "revisions": len(daemon.revisions),
            }
        )

    async def list_revisions(request: Request) -> Response:
        ordered = sorted(daemon.revisions.values(), key=lambda r: (r.record.created, r.name))
        return JSONResponse({"revisions": [daemon.describe(r) for r in ordered]})

    async def create_revision(request: Request) -> Response:
        try:
            data = await _json_body(request)
            command = data.get("command")
            env = data.get("env", {})
            if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
                raise LocalPlatformError("command must be a list of strings")
            if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
                raise LocalPlatformError("env must map names to strings")
            revision = daemon.deploy(str(data.get("name", "")), command, env, str(data.get("cwd") or "."))
        except LocalPlatformError as exc:
            return _error(exc)
        return JSONResponse(daemon.describe(revision), status_code=201)

    async def delete_revision(request: Request) -> Response:
        try:
            await daemon.remove(request.path_params["name"])
        except LocalPlatformError as exc:
            return _error(exc)
        return Response(status_code=204)

    async def get_traffic(request: Request) -> Response:
        return JSONResponse({"weights": daemon.router.table.weights})

    async def put_traffic(request: Request) -> Response:
        try:
            data = await _json_body(request)
            weights = data.get("weights")
            if not isinstance(weights, dict) or not all(
                isinstance(w, int) and not isinstance(w, bool) for w in weights.values()
            ):
                raise LocalPlatformError("weights must map revision names to integers")
            live = daemon.set_traffic(weights)
        except LocalPlatformError as exc:
            return _error(exc)
        return JSONResponse({"weights": live})

    async def all_metrics(request: Request) -> Response:
        names = sorted(set(daemon.metrics.revisions()) | set(daemon.revisions))
        return JSONResponse({"revisions": [daemon.metrics.totals(n).to_json() for n in names]})

    async def revision_window(request: Request) -> Response:
        try:
            start = float(request.query_params["start"])
            end = float(request.query_params["end"])
        except (KeyError, ValueError):
            return JSONResponse({"error": "start and end (epoch seconds) are required"}, status_code=400)
        window = daemon.metrics.window(request.path_params["name"], start, end)
        return JSONResponse(window_to_json(window))

    async def shutdown(request: Request) -> Response:
        try:
            data = await _json_body(request)
        except LocalPlatformError:
            data = {}
        daemon.forget_on_stop = bool(data.get("forget", True))
        daemon.stopped.set()
        return JSONResponse({"stopping": True}, status_code=202)

    app = Starlette(
        routes=[
            Route("/v1/daemon", who),
            Route("/v1/revisions", list_revisions),
            Route("/v1/revisions", create_revision, methods=["POST"]),
            Route("/v1/revisions/{name}", delete_revision, methods=["DELETE"]),
            Route("/v1/traffic", get_traffic),
            Route("/v1/traffic", put_traffic, methods=["PUT"]),
            Route("/v1/metrics", all_metrics),
            Route("/v1/metrics/{name}", revision_window),
            Route("/v1/shutdown", shutdown, methods=["POST"]),
        ]
    )

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                await JSONResponse({"error": "missing or wrong admin token"}, status_code=401)(
                    scope, receive, send
                )
                return
        await app(scope, receive, send)

    return guarded
