"""The Alembic migrations produce exactly the schema of the models, and re-running them is a no-op."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from bayit.db import Database
from bayit.migrate import upgrade
from bayit.models import Base


async def test_migrations_match_models_and_are_idempotent(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db.engine)
        await upgrade(db.engine)

        def diff(conn: Connection) -> list[object]:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.dispose()
