"""The ASGI side: a middleware that answers the health paths and passes everything else to the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from keel.health.registry import Health
from keel.health.report import HEALTH_JSON_TYPE, JSON_TYPE, Report, render
from keel.types import ASGIApp, Message, Receive, Scope, Send

Handler = Callable[[Scope, Send], Awaitable[None]]


def _start(status: int, content_type: str, length: int) -> Message:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", content_type.encode()),
            (b"content-length", str(length).encode()),
            (b"cache-control", b"no-store"),
        ],
    }


class _Fixed:
    """A response whose bytes never change (liveness): rendered once, sent as is."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.start = _start(status, content_type, len(body))
        self.body: Message = {"type": "http.response.body", "body": body}
        self.empty: Message = {"type": "http.response.body", "body": b""}


def _wants_ietf(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept":
            return HEALTH_JSON_TYPE.encode() in value.lower()
    return False


class HealthMiddleware:
    """Answers GET/HEAD on the health paths; hands lifespan start/stop to ``Health``; passes the rest on."""

    def __init__(self, app: ASGIApp | None, health: Health) -> None:
        self.app = app
        self.health = health
        paths = health.config.paths
        live = health.liveness()
        self._live = {
            False: _Fixed(200, render(live, details=False, ietf=False)[0], JSON_TYPE),
            True: _Fixed(200, render(live, details=False, ietf=True)[0], HEALTH_JSON_TYPE),
        }
        probe = Report(live.app, "liveness", live.status, version=live.version)
        health_body = render(probe, details=False, ietf=False)[0].replace(b',"check":"liveness"', b"")
        self._bare = {
            False: _Fixed(200, health_body, JSON_TYPE),
            True: self._live[True],
        }
        self._fixed = {paths.health: self._bare, paths.live: self._live}
        self._routes: dict[str, Handler] = {
            paths.startup: self._startup,
            paths.ready: self._ready,
            paths.deep: self._deep,
        }
        self._ready_cache: dict[bool, tuple[Report, _Fixed]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            fixed = self._fixed.get(path)
            if fixed is not None and scope["method"] == "GET":  # the liveness hot path: no I/O, no allocation
                response = fixed[_wants_ietf(scope)]
                await send(response.start)
                await send(response.body)
                return
            handler = self._routes.get(path) or (self._fixed_handler if fixed is not None else None)
            if handler is not None:
                method = scope["method"]
                if method == "GET" or method == "HEAD":
                    await handler(scope, send)
                else:
                    await self._not_allowed(send)
                return
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if self.app is not None:
            await self.app(scope, receive, send)
        elif kind == "http":  # standalone: nothing else lives here (a websocket is simply not accepted)
            await self._send(scope, send, 404, b'{"detail":"Not Found"}', JSON_TYPE)

    # -- probes ----------------------------------------------------------------------------------------
    async def _fixed_handler(self, scope: Scope, send: Send) -> None:  # HEAD on /health and /health/live
        response = self._fixed[scope["path"]][_wants_ietf(scope)]
        await send(response.start)
        await send(response.empty)

    async def _startup(self, scope: Scope, send: Send) -> None:
        await self._report(scope, send, self.health.startup(), details=False)

    async def _ready(self, scope: Scope, send: Send) -> None:
        report = await self.health.ready()
        ietf = _wants_ietf(scope)
        cached = self._ready_cache.get(ietf)
        if cached is None or cached[0] is not report:  # render once per distinct readiness report
            body, content_type = render(report, details=False, ietf=ietf)
            cached = self._ready_cache[ietf] = (report, _Fixed(report.http_status, body, content_type))
        response = cached[1]
        await send(response.start)
        await send(response.empty if scope["method"] == "HEAD" else response.body)

    async def _deep(self, scope: Scope, send: Send) -> None:
        details = self.health.config.access.allows(scope["headers"])
        await self._report(scope, send, await self.health.deep(), details=details)

    # -- sending ---------------------------------------------------------------------------------------
    async def _report(self, scope: Scope, send: Send, report: Report, *, details: bool) -> None:
        body, content_type = render(report, details=details, ietf=_wants_ietf(scope))
        await self._send(scope, send, report.http_status, body, content_type)

    @staticmethod
    async def _send(scope: Scope, send: Send, status: int, body: bytes, content_type: str) -> None:
        await send(_start(status, content_type, len(body)))
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    @staticmethod
    async def _not_allowed(send: Send) -> None:
        body = b'{"detail":"Method Not Allowed"}'
        start = _start(405, JSON_TYPE, len(body))
        start["headers"].append((b"allow", b"GET, HEAD"))
        await send(start)
        await send({"type": "http.response.body", "body": body})

    # -- lifespan --------------------------------------------------------------------------------------
    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        health = self.health

        async def receive_and_manage() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await health.start()
            elif message["type"] == "lifespan.shutdown":
                await health.stop()
            return message

        if self.app is not None:
            await self.app(scope, receive_and_manage, send)
        else:
            await self._answer_lifespan(receive_and_manage, send)

    @staticmethod
    async def _answer_lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
