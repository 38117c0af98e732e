"""The error envelope every error response carries, and the request's correlation id it names."""

from __future__ import annotations

import json
import re
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import Scope, Send

correlation_id: ContextVar[str] = ContextVar("correlation_id", default="-")

CORRELATION_HEADER = b"x-correlation-id"
_VALID_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    431: "request_header_fields_too_large",
    500: "internal_error",
    503: "service_unavailable",
}


def error_body(status: int, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": {"code": CODES.get(status, "error"), "message": message},
        "detail": message,
        "correlation_id": correlation_id.get(),
    }
    if fields:
        body["error"]["fields"] = fields
    return body


def request_correlation_id(scope: Scope) -> str:
    """The client's ``X-Correlation-ID`` when it is 1-128 safe characters, else a new one."""
    for name, value in scope["headers"]:
        if name == CORRELATION_HEADER:
            candidate: str = value.decode("latin-1")
            if _VALID_CORRELATION_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


async def send_error(
    send: Send, status: int, message: str, *, headers: dict[str, str] | None = None, cid: str | None = None
) -> None:
    """Answer with the envelope from plain ASGI code (middleware that runs outside FastAPI's handlers)."""
    body = error_body(status, message)
    if cid is not None:
        body["correlation_id"] = cid
    raw = json.dumps(body).encode()
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if cid is not None:
        extra.append((CORRELATION_HEADER, cid.encode("latin-1")))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
