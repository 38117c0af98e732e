"""The catalog's hot path: one compiled statement per filter combination, rows straight to JSON, ETags.

``GET /content`` is the busiest route. Building the SQLAlchemy statement and validating each row through
pydantic cost more CPU than the query itself, so the page statement is built and compiled once per combination
of filters (16 at most) and per dialect, executed as driver SQL with positional parameters, and its rows are
written to JSON directly (their types are the columns' own: the schema is upheld by the table, and the
OpenAPI fuzzing checks the bytes against the documented model).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, or_, select
from sqlalchemy.engine import Dialect

from bayit.db import Database
from bayit.models import Content
from bayit.schemas import ContentOut

#: How long clients and shared caches may reuse a catalog page without asking again.
CACHE_CONTROL = "public, max-age=15"

COLUMNS = [c for c in Content.__table__.c if c.key in ContentOut.model_fields]
NAMES = tuple(c.key for c in COLUMNS)


@dataclass(frozen=True)
class Compiled:
    sql: str
    order: tuple[str, ...]  # parameter names in the driver's positional order

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.order)


_compiled: dict[tuple[str, bool, bool, bool, bool, bool], Compiled] = {}


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _statement(type_: bool, category: bool, language: bool, q: bool, count_only: bool) -> Any:
    filters = []
    if type_:
        filters.append(Content.type == bindparam("type", type_=String))
    if category:
        filters.append(Content.category == bindparam("category", type_=String))
    if language:
        filters.append(Content.language == bindparam("language", type_=String))
    if q:
        filters.append(
            or_(
                Content.title_en.ilike(bindparam("q1", type_=String), escape="\\"),
                Content.title_he.ilike(bindparam("q2", type_=String), escape="\\"),
                Content.description.ilike(bindparam("q3", type_=String), escape="\\"),
            )
        )
    if count_only:
        return select(func.count()).select_from(Content).where(*filters)
    return (
        select(*COLUMNS, func.count().over().label("_total"))
        .where(*filters)
        .order_by(Content.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


def compiled(dialect: Dialect, key: tuple[bool, bool, bool, bool, bool]) -> Compiled:
    full_key = (dialect.name, *key)
    found = _compiled.get(full_key)
    if found is None:
        done = _statement(*key).compile(dialect=dialect)
        order = tuple(done.positiontup or ())
        found = _compiled[full_key] = Compiled(done.string, order)
    return found


async def page(
    db: Database,
    *,
    limit: int,
    offset: int,
    type_: str | None,
    category: str | None,
    language: str | None,
    q: str | None,
) -> bytes:
    """One catalog page as the JSON of ``ContentPage``: one round trip (the total is a window count), through
    ``Database.fetch`` (on PostgreSQL straight on an asyncpg connection)."""
    values: dict[str, Any] = {"limit": limit, "offset": offset, "type": type_, "category": category}
    values["language"] = language
    if q is not None:
        values["q1"] = values["q2"] = values["q3"] = f"%{escape_like(q.strip())}%"
    key = (type_ is not None, category is not None, language is not None, q is not None)
    dialect = db.engine.dialect
    statement = compiled(dialect, (*key, False))
    rows = await db.fetch(statement.sql, statement.params(values))
    if rows:
        total = int(rows[0][-1])
    else:  # past the end: the window count has no row to ride on
        count = compiled(dialect, (*key, True))
        total = int((await db.fetch(count.sql, count.params(values)))[0][0] or 0)
    items = [dict(zip(NAMES, row, strict=False)) for row in rows]
    next_offset = offset + limit if offset + limit < total else None
    body = {"items": items, "total": total, "limit": limit, "offset": offset, "next_offset": next_offset}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def not_modified(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return tag in candidates or "*" in candidates
