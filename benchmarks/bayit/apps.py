"""uvicorn factories for the Bayit+ benchmark: the service with and without its observability middleware,
and the lean reference it is compared with."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bayit import catalog
from bayit.app import create_app
from bayit.observability import configure_logging
from bayit.settings import load_settings


def instrumented() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.LOG_LEVEL)
    return create_app(settings, migrate=False)


def bare() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.LOG_LEVEL)
    return create_app(settings, migrate=False, instrument=False)


def reference() -> Starlette:
    """The lean reference: the same catalog query through asyncpg in a plain Starlette handler, no ORM, no
    FastAPI, no validation; the same JSON body. What the catalog route is measured against."""
    import asyncpg
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

    statement = catalog.compiled(asyncpg_dialect(), (False, False, False, False, False))
    url = load_settings().database_url.replace("postgresql+asyncpg://", "postgresql://")
    pools: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        pools.append(await asyncpg.create_pool(url, min_size=4, max_size=40))
        yield
        await pools[0].close()

    async def content(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "20"))
        offset = int(request.query_params.get("offset", "0"))
        values = {"limit": limit, "offset": offset}
        async with pools[0].acquire() as conn:
            rows = await conn.fetch(statement.sql, *statement.params(values))
        total = int(rows[0][-1]) if rows else 0
        items = [dict(zip(catalog.NAMES, row, strict=False)) for row in rows]
        next_offset = offset + limit if offset + limit < total else None
        body = {"items": items, "total": total, "limit": limit, "offset": offset, "next_offset": next_offset}
        return Response(
            json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            media_type="application/json",
        )

    return Starlette(routes=[Route("/api/v1/content", content)], lifespan=lifespan)
