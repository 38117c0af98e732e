"""The service's outermost ASGI layer: the catalog's fast lane, in front of the whole middleware stack.

``GET /content`` is the busiest route and its own work is small (one statement, one JSON body), so the ten or
so ASGI layers every request crosses (Starlette's error and exception middleware, FastAPI's telemetry, body
limit and exit stack, the health guard and keel.health's middleware, observability, the edge, the router)
cost as much as the page. The lane answers GET and HEAD on that one path in a single layer that does what
those layers would do for it: the edge's limits, the correlation id, the error envelope through the app's own
exception handlers (422, 503 with ``Retry-After``, 400, 500), the ETag and 304, the access log line and the
metrics. Every other request goes to the stack unchanged, and so does the catalog when CORS is configured and
the request is cross-origin, or when fault injection is on (both live in the stack).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bayit import catalog
from bayit.api.content import parse_query, tagged_page
from bayit.db import Database
from bayit.edge import Limits, refusal
from bayit.envelope import CORRELATION_HEADER, correlation_id, request_correlation_id, send_error
from bayit.observability import Observer, log_unhandled

_JSON = (b"content-type", b"application/json")
_CACHE_CONTROL = (b"cache-control", catalog.CACHE_CONTROL.encode())


class CatalogLane:
    """Wraps the app's built middleware stack; see the module's docstring."""

    def __init__(
        self,
        stack: ASGIApp,
        *,
        path: str,
        db: Database,
        limits: Limits,
        observer: Observer | None,
        handlers: dict[Any, Any],
        cors: bool,
    ) -> None:
        self.stack = stack
        self.path = path
        self.db = db
        self.limits = limits
        self.observer = observer
        self.handlers = handlers
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != self.path
            or scope["method"] not in ("GET", "HEAD")
            or (self.cors and any(name == b"origin" for name, _ in scope["headers"]))
        ):
            await self.stack(scope, receive, send)
            return
        start = time.perf_counter()
        cid = request_correlation_id(scope)
        token = correlation_id.set(cid)
        status = 500
        route = self.path
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message["headers"] = [
                    *message.get("headers", ()),
                    (CORRELATION_HEADER, cid.encode("latin-1")),
                ]
            await send(message)

        try:
            refused = refusal(scope, self.limits)
            if refused is not None:
                route = "unmatched"  # refused before routing, as the edge middleware does
                await send_error(send_with_id, *refused)
                return
            try:
                body, tag = await tagged_page(self.db, parse_query(scope["query_string"]))
            except Exception as exc:
                handler = self._handler(exc)
                if handler is None:
                    raise
                response = await handler(Request(scope, receive), exc)
                if scope["method"] == "HEAD":
                    response.body = b""
                await response(scope, receive, send_with_id)
                return
            headers = [(b"etag", tag.encode()), _CACHE_CONTROL]
            if catalog.not_modified(_if_none_match(scope), tag):
                await send_with_id({"type": "http.response.start", "status": 304, "headers": headers})
                await send_with_id({"type": "http.response.body", "body": b""})
                return
            headers += [_JSON, (b"content-length", str(len(body)).encode())]
            await send_with_id({"type": "http.response.start", "status": 200, "headers": headers})
            head = scope["method"] == "HEAD"
            await send_with_id({"type": "http.response.body", "body": b"" if head else body})
        except Exception:
            # as the observability middleware does: answered here with the correlation id, re-raised for the
            # server's log and Sentry's ASGI integration
            log_unhandled(scope)
            if not started:
                await send_error(send_with_id, 500, "internal error")
            raise
        finally:
            if self.observer is not None:
                self.observer.record(
                    scope["method"], route, scope["path"], status, time.perf_counter() - start
                )
            correlation_id.reset(token)

    def _handler(self, exc: Exception) -> Any:
        """The app's exception handler for this error (the one its exception middleware would pick), or
        None for an unexpected one."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return None


def _if_none_match(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return str(value.decode("latin-1"))
    return None
