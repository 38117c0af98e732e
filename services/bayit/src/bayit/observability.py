"""Structured JSON logs with correlation ids and Prometheus request metrics (Sentry: ``bayit.sentry``)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bayit.envelope import CORRELATION_HEADER, correlation_id, request_correlation_id, send_error

__all__ = [
    "JsonFormatter",
    "ObservabilityMiddleware",
    "configure_logging",
    "correlation_id",
    "metrics_endpoint",
]

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

_errors_log = logging.getLogger("bayit.errors")

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template, method and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0),
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request's correlation id and any ``extra`` fields."""

    converter = time.gmtime  # type: ignore[assignment]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": correlation_id.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _route_template(scope: Scope) -> str:
    """The matched route's template with the prefix it was included under (``/api/v1/content/{content_id}``).

    FastAPI reports an included route's own path without its router prefix, so the prefix is recovered from
    the request path: the template's segments match the tail of the path segment for segment."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "unmatched"
    path: str = scope["path"]
    depth = template.count("/")
    cut = len(path)
    for _ in range(depth):
        cut = path.rfind("/", 0, cut)
        if cut < 0:
            return template
    return path[:cut] + template if cut > 0 else template


class ObservabilityMiddleware:
    """Correlation id (honoured or generated, echoed back), access log, request count and latency.

    Labels use the route template (``/api/v1/content/{content_id}``), never the raw path, to bound cardinality.
    """

    def __init__(self, app: ASGIApp, *, access_log: bool = True, metrics: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics
        self.log = logging.getLogger("bayit.access")
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = request_correlation_id(scope)
        token = correlation_id.set(cid)
        cid_bytes = cid.encode("latin-1")
        status = 500
        started = False
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (CORRELATION_HEADER, cid_bytes)]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # Answered here, while the correlation id is known, so the 500 carries it in header and body;
            # re-raised for the server's log and for Sentry's ASGI integration.
            _errors_log.error("unhandled error", exc_info=True, extra={"path": scope["path"][:200]})
            if not started:
                await send_error(send_wrapper, 500, "internal error")
            raise
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            if self.metrics:
                key = (scope["method"], route, str(status))
                children = self._children.get(key)
                if children is None:
                    children = (REQUESTS.labels(*key), LATENCY.labels(*key))
                    self._children[key] = children
                children[0].inc()
                children[1].observe(elapsed)
            if self.access_log:
                self.log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "path": scope["path"][:200],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            correlation_id.reset(token)


async def metrics_endpoint(_request: Request) -> Response:
    """``GET /metrics`` in the Prometheus text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
