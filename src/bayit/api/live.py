"""Live channels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from bayit.api.deps import ReaderDep
from bayit.models import LiveChannel
from bayit.schemas import COMMON_ERRORS, LiveChannelOut, LiveList

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
