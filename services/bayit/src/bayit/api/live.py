"""Live channels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from bayit.api.deps import ReaderDep
from bayit.models import LiveChannel
from bayit.schemas import COMMON_ERRORS, VISIBLE, ChannelList, ChannelOut, LiveChannelOut, LiveList

router = APIRouter(prefix="/live", tags=["live"], responses=COMMON_ERRORS)


@router.get("", response_model=LiveList, summary="Live channels on air")
async def list_live(
    db: ReaderDep, limit: Annotated[int, Query(ge=1, le=100, description="Channels (1-100)")] = 20
) -> LiveList:
    query = select(LiveChannel.__table__, func.count().over().label("_total"))
    rows = (
        (await db.execute(query.order_by(LiveChannel.sort_order, LiveChannel.id).limit(limit)))
        .mappings()
        .all()
    )
    total = int(rows[0]["_total"]) if rows else 0
    return LiveList(items=[LiveChannelOut.model_validate(dict(r)) for r in rows], total=total)


@router.get(
    "/channels", response_model=ChannelList, summary="Live channels (the original Bayit+ API's shape)"
)
async def list_channels(
    db: ReaderDep,
    category: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    culture_id: Annotated[
        str | None, Query(max_length=64, pattern=VISIBLE, description="Accepted; every channel is Israeli")
    ] = None,
) -> ChannelList:
    query = select(LiveChannel.__table__).order_by(LiveChannel.sort_order, LiveChannel.id).limit(50)
    if category is not None:
        query = query.where(LiveChannel.category == category)
    rows = (await db.execute(query)).mappings().all()
    channels = [
        ChannelOut(
            id=r["id"],
            name=r["title"],
            category=r["category"],
            stream_url=r["stream_url"],
            language=r["language"],
        )
        for r in rows
    ]
    return ChannelList(channels=channels, total=len(channels))
