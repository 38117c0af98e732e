"""Every error the API returns is JSON: validation problems name the field, nothing a client sends is a 500."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from bayit.envelope import error_body
from bayit.schemas import PRINTABLE, PRINTABLE_MESSAGE, VISIBLE, VISIBLE_MESSAGE

log = logging.getLogger("bayit.errors")


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
    if err.get("type") == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern")
        if pattern == PRINTABLE:
            return PRINTABLE_MESSAGE
        if pattern == VISIBLE:
            return VISIBLE_MESSAGE
    return str(err.get("msg", "invalid value")).removeprefix("Value error, ")


async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [{"field": _field_name(tuple(e["loc"])), "message": _field_message(e)} for e in exc.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse(error_body(422, f"invalid request: {summary}", fields), status_code=422)


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette's 405 names only the first route's), with
    HEAD wherever GET is (the edge serves HEAD as GET). Asked of the routes themselves, method by method."""
    routes = request.app.router.routes
    methods = {
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    }
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        message = f"method {request.method} not allowed; use {', '.join(allowed)}"
    return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code, headers=headers)


# SQLSTATE classes that say "the database cannot serve now", not "this statement is wrong": connection
# exceptions, insufficient resources, operator intervention (statement timeout, shutdown), system errors; plus
# serialization failures, deadlocks, lock timeouts, and a table missing while migrations have not run yet.
_UNAVAILABLE_CLASSES = {"08", "53", "57", "58"}
_UNAVAILABLE_STATES = {"40001", "40P01", "55P03", "42P01"}
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "no such table", "readonly")


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error means the database cannot answer now (503), rather than that the request
    or the service is wrong (4xx, 500). Only the first is an outage: bad input must never look like one."""
    if isinstance(exc, PoolTimeoutError | OSError):  # TimeoutError and refused connections are OSErrors
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    driver = getattr(orig, "__cause__", None) or orig
    if isinstance(driver, OSError):
        return True
    sqlstate = getattr(orig, "sqlstate", None) or getattr(driver, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_STATES
    if type(driver).__module__.startswith("asyncpg"):  # client side: closed connection, protocol state
        return "closed" in str(driver) or "ConnectionDoesNotExist" in type(driver).__name__
    if isinstance(driver, sqlite3.OperationalError):
        return any(word in str(driver).lower() for word in _SQLITE_UNAVAILABLE)
    return False


def bad_value(exc: BaseException) -> bool:
    """A value the database refused on its type (out of range, bad encoding): the request's fault. The API
    validates at the edge, so this is the net under that validation, not the main line."""
    if isinstance(exc, OverflowError):  # sqlite3 binding an integer beyond 64 bits
        return True
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    driver = getattr(orig, "__cause__", None) or orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(driver, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith("22"):
        return True
    return type(driver).__name__ == "DataError" or isinstance(exc, DataError)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        # A database outage is the service's problem, and temporary: 503 with Retry-After, not a 500.
        log.error("database unavailable", extra={"error_type": type(exc).__name__})
        return JSONResponse(
            error_body(503, "database temporarily unavailable"), status_code=503, headers={"Retry-After": "5"}
        )
    if bad_value(exc):
        log.warning("value refused by the database", extra={"error_type": type(exc).__name__})
        return JSONResponse(error_body(400, "a value in the request is out of range or malformed"), 400)
    return await _unexpected(request, exc)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(error_body(500, "internal error"), status_code=500)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's outermost handler, reached after the observability middleware has already logged the error
    # and answered it with the correlation id; without that middleware (benchmarks) it is the only log.
    if not getattr(request.app.state, "instrumented", False):
        log.error("unhandled error", exc_info=exc)
    return JSONResponse(error_body(500, "internal error"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(PoolTimeoutError, _database)
    app.add_exception_handler(OSError, _database)
    app.add_exception_handler(OverflowError, _database)
    app.add_exception_handler(Exception, _server_error)
