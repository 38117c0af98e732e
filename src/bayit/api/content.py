"""The public content catalog: list with filters, search and pagination; one item by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import func, or_, select

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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@router.get("", response_model=ContentPage, summary="List the catalog")
async def list_content(
    db: ReaderDep,
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
) -> ContentPage:
    filters = []
    if type is not None:
        filters.append(Content.type == type.value)
    if category is not None:
        filters.append(Content.category == category)
    if language is not None:
        filters.append(Content.language == language)
    if q is not None:
        pattern = f"%{_escape_like(q.strip())}%"
        filters.append(
            or_(
                Content.title_en.ilike(pattern, escape="\\"),
                Content.title_he.ilike(pattern, escape="\\"),
                Content.description.ilike(pattern, escape="\\"),
            )
        )
    # One round trip: the page and the total (a window count) together; a page past the end has no rows to
    # carry the total, so only then is it counted separately.
    columns = [c for c in Content.__table__.c if c.key in ContentOut.model_fields]
    query = select(*columns, func.count().over().label("_total")).where(*filters)
    rows = (await db.execute(query.order_by(Content.id).limit(limit).offset(offset))).mappings().all()
    if rows:
        total = int(rows[0]["_total"])
    else:
        total = int(await db.scalar(select(func.count()).select_from(Content).where(*filters)) or 0)
    items = [ContentOut.model_validate(dict(row)) for row in rows]
    next_offset = offset + limit if offset + limit < total else None
    return ContentPage(items=items, total=total, limit=limit, offset=offset, next_offset=next_offset)


@router.get(
    "/{content_id}", response_model=ContentOut, responses=error_responses(404), summary="One catalog item"
)
async def get_content(db: ReaderDep, content_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> ContentOut:
    row = (await db.execute(select(Content.__table__).where(Content.id == content_id))).mappings().first()
    if row is None:
        raise HTTPException(404, f"content {content_id} not found")
    return ContentOut.model_validate(dict(row))
