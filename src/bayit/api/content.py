"""The public content catalog: list with filters, search and pagination; one item by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from sqlalchemy import select

from bayit import catalog
from bayit.api.deps import ReaderDep
from bayit.models import Content
from bayit.schemas import (
    COMMON_ERRORS,
    MAX_ID,
    VISIBLE,
    ContentOut,
    ContentPage,
    ContentType,
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
async def list_content(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page (1-100)")] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="Items to skip")] = 0,
    type: Annotated[ContentType | None, Query(description="movie, series or podcast")] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    language: Annotated[
        str | None, Query(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. he")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=VISIBLE,
            description="Text search in titles and descriptions (not blank, no control characters)",
        ),
    ] = None,
) -> Response:
    # The hot path (bayit.catalog): a compiled statement per filter combination, rows straight to JSON; one
    # round trip per page (the total is a window count); no dependency to solve for the connection.
    async with request.app.state.db.read() as conn:
        body = await catalog.page(
            conn,
            limit=limit,
            offset=offset,
            type_=type.value if type is not None else None,
            category=category,
            language=language,
            q=q,
        )
    tag = catalog.etag(body)
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
