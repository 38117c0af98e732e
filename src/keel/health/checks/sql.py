"""SQL database check through SQLAlchemy's async engine: one ``SELECT 1`` round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from keel.health.base import BaseCheck, Observation, Outcome
from keel.health.checks.clients import require
from keel.health.sanitize import url_secrets

if TYPE_CHECKING:  # SQLAlchemy is the `sql` extra, imported when a check is built
    from sqlalchemy.ext.asyncio import AsyncEngine


class SqlCheck(BaseCheck):
    """Runs ``SELECT 1`` on a pooled connection of the service's own engine (or one built from a URL)."""

    kind = "sql"

    component_type = "datastore"

    def __init__(
        self,
        engine: AsyncEngine | Callable[[], AsyncEngine] | None = None,
        *,
        url: str | None = None,
        name: str = "database",
        query: str = "SELECT 1",
    ) -> None:
        if (engine is None) == (url is None):
            raise TypeError("give exactly one of engine or url")
        require("sqlalchemy", check="sql", extra="sql")
        from sqlalchemy import text

        self.name = name
        self._engine_source = engine
        self._url = url
        self._owned: AsyncEngine | None = None
        self._query = text(query)

    @property
    def engine(self) -> AsyncEngine:
        from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

        source = self._engine_source
        if isinstance(source, AsyncEngine):
            return source
        if source is not None:
            return source()
        if self._owned is None:
            assert self._url is not None
            self._owned = create_async_engine(self._url, pool_pre_ping=True, pool_size=2, max_overflow=0)
        return self._owned

    async def probe(self) -> Observation:
        async with self.engine.connect() as connection:
            await connection.execute(self._query)
        return Observation(Outcome.OK, "SELECT 1 ok")

    def secrets(self) -> Iterable[str]:
        if self._url is not None:
            return url_secrets(self._url)
        try:
            url = self.engine.url
        except Exception:
            return ()
        found = url_secrets(url.render_as_string(hide_password=False))
        for part in (url.password, url.username, url.host):
            if part:
                found.add(str(part))
        return found

    async def aclose(self) -> None:
        if self._owned is not None:
            engine, self._owned = self._owned, None
            await engine.dispose()
