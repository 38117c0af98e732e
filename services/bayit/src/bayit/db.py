"""The database: async engine and sessions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
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
    sends nothing, and server side as PostgreSQL's ``statement_timeout``).

    ``fetch`` is the hot read path (the catalog): on PostgreSQL it runs driver SQL on its own asyncpg pool
    (up to ``pool_size`` connections, opened on demand), with the same connection arguments and timeouts,
    without SQLAlchemy's connection wrapper; its errors are raised as SQLAlchemy's, so they are classified
    alike (503 / 400 / 500)."""

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
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout
        self._statement_timeout = statement_timeout
        self._raw_pool: Any = None  # asyncpg.Pool, created on the first fetch (PostgreSQL only)
        self._raw_pool_lock = asyncio.Lock()
        kwargs: dict[str, object] = {"echo": echo, "pool_pre_ping": False}
        if self.dialect == "postgresql":
            kwargs.update(
                pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout, pool_recycle=1800
            )
            self._connect_args: dict[str, Any] = {
                "timeout": connect_timeout,
                "command_timeout": statement_timeout,
                "server_settings": {"statement_timeout": str(int(statement_timeout * 1000))},
            }
        else:
            self._connect_args = {"timeout": connect_timeout}
        kwargs["connect_args"] = dict(self._connect_args)
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

    async def fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Any]:
        """The rows of one read statement in the driver's SQL (positional parameters), outside any
        transaction. Every wait is bounded as for the engine: a free connection within ``pool_timeout``
        (a new one within ``connect_timeout``), the statement within ``statement_timeout``."""
        if self.dialect != "postgresql":
            async with self.read() as conn:
                return (await conn.exec_driver_sql(sql, tuple(params))).all()
        pool = self._raw_pool or await self._open_raw_pool()
        try:
            conn = await pool.acquire(timeout=self._pool_timeout)
        except TimeoutError:
            raise PoolTimeoutError(f"no database connection free within {self._pool_timeout:g} s") from None
        except Exception as exc:
            error = _as_dbapi_error(sql, exc, closed=True)
            if error is exc:
                raise
            raise error from exc
        try:
            rows: Sequence[Any] = await conn.fetch(sql, *params)
        except BaseException as exc:
            closed = getattr(exc, "sqlstate", None) is None
            if closed:
                # not an answer from the server (a timeout, a cancelled request, a lost connection): the
                # connection's state is unknown, and releasing it would wait for the server to acknowledge
                # a cancel; closed here, the pool opens a fresh one when needed
                conn.terminate()
            await pool.release(conn, timeout=self._statement_timeout)
            if not isinstance(exc, Exception):  # cancelled: the connection is closed, nothing to translate
                raise
            error = _as_dbapi_error(sql, exc, closed=closed)
            if error is exc:
                raise
            raise error from exc
        await pool.release(conn, timeout=self._statement_timeout)
        return rows

    async def _open_raw_pool(self) -> Any:
        import asyncpg

        async with self._raw_pool_lock:
            if self._raw_pool is None:
                _args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
                for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
                    kwargs.pop(sqlalchemy_only, None)
                kwargs.update(self._connect_args)
                self._raw_pool = await asyncpg.create_pool(
                    min_size=0, max_size=self._pool_size, max_inactive_connection_lifetime=300, **kwargs
                )
        return self._raw_pool

    async def dispose(self) -> None:
        pool, self._raw_pool = self._raw_pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=self._pool_timeout)
            except (TimeoutError, OSError):  # a frozen or gone server: do not wait for polite goodbyes
                pool.terminate()
        await self.engine.dispose()


def _as_dbapi_error(sql: str, exc: Exception, *, closed: bool) -> Exception:
    """asyncpg's exceptions as the ``DBAPIError`` SQLAlchemy would raise, so the error handlers classify them
    alike; timeouts and OS errors (a refused or lost connection) stay as they are: both mean unavailable."""
    if isinstance(exc, OSError) or not type(exc).__module__.startswith("asyncpg"):
        return exc
    return DBAPIError(sql, None, exc, connection_invalidated=closed)


def _sqlite_pragmas(dbapi_connection: object, busy_ms: int) -> None:
    # WAL lets several revisions of the service (a canary beside the stable one) share one SQLite file.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()
