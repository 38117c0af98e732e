"""The signed-in user's watchlist."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bayit.api.deps import SessionDep, UserDep
from bayit.models import Content, WatchlistItem
from bayit.schemas import (
    AUTH_ERRORS,
    BODY_ERRORS,
    COMMON_ERRORS,
    MAX_ID,
    ContentOut,
    WatchlistCheck,
    WatchlistIn,
    WatchlistItemOut,
    WatchlistOut,
    error_responses,
)

router = APIRouter(prefix="/watchlist", tags=["watchlist"], responses={**COMMON_ERRORS, **AUTH_ERRORS})


@router.get("", response_model=WatchlistOut, summary="The watchlist")
async def get_watchlist(user: UserDep, session: SessionDep) -> WatchlistOut:
    rows = await session.execute(
        select(WatchlistItem, Content)
        .join(Content, Content.id == WatchlistItem.content_id)
        .where(WatchlistItem.user_id == user.id)
        .order_by(WatchlistItem.added_at.desc(), WatchlistItem.id.desc())
    )
    items = [WatchlistItemOut.of(ContentOut.model_validate(c), w.added_at) for w, c in rows]
    return WatchlistOut(items=items, total=len(items))


@router.post(
    "",
    response_model=WatchlistItemOut,
    status_code=201,
    responses={**BODY_ERRORS, **error_responses(404, 409)},
    summary="Add an item",
)
async def add_to_watchlist(body: WatchlistIn, user: UserDep, session: SessionDep) -> WatchlistItemOut:
    content = await session.get(Content, body.content_id)
    if content is None:
        raise HTTPException(404, f"content {body.content_id} not found")
    existing = await session.scalar(
        select(WatchlistItem).where(WatchlistItem.user_id == user.id, WatchlistItem.content_id == content.id)
    )
    if existing is not None:
        raise HTTPException(409, f"content {content.id} is already in the watchlist")
    item = WatchlistItem(user_id=user.id, content_id=content.id)
    session.add(item)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(409, f"content {content.id} is already in the watchlist") from None
    return WatchlistItemOut.of(ContentOut.model_validate(content), item.added_at)


@router.delete("/{content_id}", status_code=204, responses=error_responses(404), summary="Remove an item")
async def remove_from_watchlist(
    content_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: UserDep, session: SessionDep
) -> Response:
    result = await session.execute(
        delete(WatchlistItem).where(WatchlistItem.user_id == user.id, WatchlistItem.content_id == content_id)
    )
    await session.commit()
    if getattr(result, "rowcount", 0) == 0:
        raise HTTPException(404, f"content {content_id} is not in the watchlist")
    return Response(status_code=204)


ContentId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get(
    "/check/{content_id}", response_model=WatchlistCheck, summary="Whether an item is in the watchlist"
)
async def check_watchlist(content_id: ContentId, user: UserDep, session: SessionDep) -> WatchlistCheck:
    found = await session.scalar(
        select(WatchlistItem.id).where(
            WatchlistItem.user_id == user.id, WatchlistItem.content_id == content_id
        )
    )
    return WatchlistCheck(in_watchlist=found is not None)


@router.post(
    "/toggle/{content_id}",
    response_model=WatchlistCheck,
    responses=error_responses(404),
    summary="Add the item if absent, remove it if present",
)
async def toggle_watchlist(
    content_id: ContentId,
    user: UserDep,
    session: SessionDep,
    content_type: Annotated[
        Literal["vod", "movie", "series", "podcast"] | None, Query(description="Accepted, not needed")
    ] = None,
) -> WatchlistCheck:
    removed = await session.execute(
        delete(WatchlistItem).where(WatchlistItem.user_id == user.id, WatchlistItem.content_id == content_id)
    )
    if getattr(removed, "rowcount", 0):
        await session.commit()
        return WatchlistCheck(in_watchlist=False, message="Removed from watchlist")
    if await session.get(Content, content_id) is None:
        raise HTTPException(404, f"content {content_id} not found")
    session.add(WatchlistItem(user_id=user.id, content_id=content_id))
    try:
        await session.commit()
    except IntegrityError:  # a concurrent toggle added it first: it is in the watchlist either way
        await session.rollback()
    return WatchlistCheck(in_watchlist=True, message="Added to watchlist")
