"""Every error the API returns is JSON: validation problems name the field, nothing a client sends is a 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bayit.observability import correlation_id

log = logging.getLogger("bayit.errors")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


def error_body(status: int, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": {"code": _CODES.get(status, "error"), "message": message},
        "detail": message,
        "correlation_id": correlation_id.get(),
    }
    if fields:
        body["error"]["fields"] = fields
    return body


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "body", "header"):
        if len(parts) == 1:
            return parts[0]
        parts = parts[1:]
    return ".".join(parts)


def _field_message(err: dict[str, Any]) -> str:
    if err.get("type") == "json_invalid":
        return "request body is not valid JSON"
    if err.get("type") == "missing":
        return "field required"
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")


async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [{"field": _field_name(tuple(e["loc"])), "message": _field_message(e)} for e in exc.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse(error_body(422, f"invalid request: {summary}", fields), status_code=422)


async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return JSONResponse(
        error_body(exc.status_code, message), status_code=exc.status_code, headers=exc.headers
    )


async def _database(_request: Request, exc: Exception) -> JSONResponse:
    # A database outage is the service's problem, and temporary: 503 with Retry-After, not a 500.
    log.error("database unavailable", extra={"error_type": type(exc).__name__})
    return JSONResponse(
        error_body(503, "database temporarily unavailable"), status_code=503, headers={"Retry-After": "5"}
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(error_body(500, "internal error"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(PoolTimeoutError, _database)
    app.add_exception_handler(OSError, _database)
    app.add_exception_handler(Exception, _unexpected)
