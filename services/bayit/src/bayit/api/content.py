"""The public content catalog: list with filters, search and pagination; one item by id."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from starlette.routing import Match, Route
from starlette.types import Scope

from bayit import catalog
from bayit.api.deps import ReaderDep
from bayit.db import Database
from bayit.models import Content
from bayit.schemas import (
    COMMON_ERRORS,
    MAX_ID,
    ContentOut,
    ContentPage,
    ContentQuery,
    error_responses,
)

router = APIRouter(prefix="/content", tags=["content"], responses=COMMON_ERRORS)


@router.get(
    "",
    response_model=ContentPage,
    summary="List the catalog",
    responses={
        200: {
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Cache-Control": {"schema": {"type": "string"}},
            }
        },
        304: {"description": "Not modified: the page still has the ETag sent in If-None-Match"},
    },
)
async def list_content(request: Request, query: Annotated[ContentQuery, Query()]) -> Response:
    return await _page(request, query)


class CatalogRoute(Route):
    """A plain route that names itself in the scope as FastAPI's do, for the metrics' route label."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


async def fast_list_content(request: Request) -> Response:
    """``GET /content`` as a plain Starlette endpoint, routed ahead of FastAPI's (which documents it): one
    model validation of the query string instead of FastAPI's per-parameter solving, the same 422s. (Usually
    answered before any routing, by ``bayit.front``; this route serves when that lane is off.)"""
    return await _page(request, parse_query(request.scope["query_string"]))


def parse_query(query_string: bytes) -> ContentQuery:
    """The catalog's query string, validated with its one model; a bad one raises FastAPI's 422 error."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    try:
        return ContentQuery.model_validate(dict(pairs))
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


async def tagged_page(db: Database, query: ContentQuery) -> tuple[bytes, str]:
    """The page's JSON and its ETag. The hot path (bayit.catalog): a compiled statement per filter
    combination, rows straight to JSON, one round trip per page."""
    body = await catalog.page(
        db,
        limit=query.limit,
        offset=query.offset,
        type_=query.type.value if query.type is not None else None,
        category=query.category,
        language=query.language,
        q=query.q,
    )
    return body, catalog.etag(body)


async def _page(request: Request, query: ContentQuery) -> Response:
    body, tag = await tagged_page(request.app.state.db, query)
    headers = {"ETag": tag, "Cache-Control": catalog.CACHE_CONTROL}
    if catalog.not_modified(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/{content_id}", response_model=ContentOut, responses=error_responses(404), summary="One catalog item"
)
async def get_content(db: ReaderDep, content_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> ContentOut:
    row = (await db.execute(select(Content.__table__).where(Content.id == content_id))).mappings().first()
    if row is None:
        raise HTTPException(404, f"content {content_id} not found")
    return ContentOut.model_validate(dict(row))
