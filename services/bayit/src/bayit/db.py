"""The database: async engine and sessions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(url: str) -> str:
    """Accept the URLs people write (postgres://, postgresql://, sqlite:///) and pick the async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def safe_url(url: str) -> str:
    """The URL with its password hidden: for logs and messages."""
    return make_url(async_url(url)).render_as_string(hide_password=True)


class Database:
    """Owns the engine and the session factory; ``dispose()`` closes the pool on shutdown.

    Every wait on the database is bounded, so a database that stops answering (frozen, partitioned) turns
    requests into fast 503s instead of stalls: ``connect_timeout`` for a new connection, ``pool_timeout`` for
    a free pooled one, ``statement_timeout`` for each statement (client side, which also covers a server that
    sends nothing, and server side as PostgreSQL's ``statement_timeout``)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        pool_timeout: float = 2.0,
        connect_timeout: float = 2.0,
        statement_timeout: float = 3.0,
        echo: bool = False,
    ) -> None:
        self.url = async_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        kwargs: dict[str, object] = {"echo": echo, "pool_pre_ping": False}
        if self.dialect == "postgresql":
            kwargs.update(
                pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout, pool_recycle=1800
            )
            kwargs["connect_args"] = {
                "timeout": connect_timeout,
                "command_timeout": statement_timeout,
                "server_settings": {"statement_timeout": str(int(statement_timeout * 1000))},
            }
        else:
            kwargs["connect_args"] = {"timeout": connect_timeout}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            busy_ms = int(statement_timeout * 1000)
            event.listen(
                self.engine.sync_engine, "connect", lambda conn, _record: _sqlite_pragmas(conn, busy_ms)
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Single-statement reads need no transaction: autocommit saves the BEGIN and ROLLBACK round trips.
        self.reader: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one-statement reads, outside any transaction."""
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: object, busy_ms: int) -> None:
    # WAL lets several revisions of the service (a canary beside the stable one) share one SQLite file.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()
