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
    "Observer",
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


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)  # one encoder, not one per line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request's correlation id and any ``extra`` fields."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # the date and time change once a second: formatted once a second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        entry: dict[str, Any] = {
            "ts": f"{self._second_text}.{int(record.msecs):03d}Z",
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
        return _ENCODER.encode(entry)


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


class Observer:
    """What every request leaves behind: one access-log line and its count and latency in the metrics, by
    route template. Shared by the observability middleware and the catalog's fast lane (``bayit.front``)."""

    def __init__(self, *, access_log: bool = True, metrics: bool = True) -> None:
        self.access_log = access_log
        self.metrics = metrics
        self.log = logging.getLogger("bayit.access")
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, path: str, status: int, elapsed: float) -> None:
        if self.metrics:
            key = (method, route, status)
            children = self._children.get(key)
            if children is None:  # label children cached: no label resolution per request
                labels = (method, route, str(status))
                children = self._children[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
            children[0].inc()
            children[1].observe(elapsed)
        if self.access_log and self.log.isEnabledFor(logging.INFO):
            # the record built directly: the same record ``log.info(..., extra=...)`` makes, without the
            # caller's frame lookup (an access line's origin is this line, always)
            record = logging.LogRecord(self.log.name, logging.INFO, __file__, 0, "request", None, None)
            record.method = method
            record.route = route
            record.path = path[:200]
            record.status = status
            record.duration_ms = round(elapsed * 1000, 2)
            self.log.handle(record)


class ObservabilityMiddleware:
    """Correlation id (honoured or generated, echoed back), access log, request count and latency.

    Labels use the route template (``/api/v1/content/{content_id}``), never the raw path, to bound cardinality.
    """

    def __init__(self, app: ASGIApp, *, observer: Observer | None = None) -> None:
        self.app = app
        self.observer = observer or Observer()

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
            log_unhandled(scope)
            if not started:
                await send_error(send_wrapper, 500, "internal error")
            raise
        finally:
            elapsed = time.perf_counter() - start
            self.observer.record(scope["method"], _route_template(scope), scope["path"], status, elapsed)
            correlation_id.reset(token)


def log_unhandled(scope: Scope) -> None:
    """Log the exception being handled as an unhandled error of this request (call from an except block)."""
    _errors_log.error("unhandled error", exc_info=True, extra={"path": scope["path"][:200]})


async def metrics_endpoint(_request: Request) -> Response:
    """``GET /metrics`` in the Prometheus text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
