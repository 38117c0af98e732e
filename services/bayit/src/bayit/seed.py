"""Load the sample catalog shipped with the package into an empty database."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sqlalchemy import func, select

from bayit.db import Database
from bayit.models import Content, LiveChannel


def sample_catalog() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("bayit").joinpath("data/catalog.json").read_text(encoding="utf-8")
    data: dict[str, list[dict[str, Any]]] = json.loads(text)
    return data


async def seed(db: Database, *, only_if_empty: bool = True) -> int:
    """Insert the sample catalog; returns the number of content items added (0 when already seeded)."""
    async with db.session() as session:
        existing = await session.scalar(select(func.count()).select_from(Content))
        if only_if_empty and existing:
            return 0
        catalog = sample_catalog()
        session.add_all(Content(**item) for item in catalog["content"])
        session.add_all(LiveChannel(**channel) for channel in catalog["live_channels"])
        await session.commit()
        return len(catalog["content"])
