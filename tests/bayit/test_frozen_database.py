"""A frozen PostgreSQL (SIGSTOP: connections open, nothing answers) turns requests into fast 503s, not stalls,
and the service recovers by itself once the database answers again."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from bayit.app import create_app
from bayit.migrate import upgrade
from bayit.seed import seed
from bayit.settings import Settings
from tests.bayit.conftest import TEST_SECRET, register_and_login
from tests.support.postgres import PostgresServer, find_bindir

pytestmark = pytest.mark.postgres

TIMEOUT = 1.0  # each of the three database timeouts in this test
BOUND = 6.0  # generous for a loaded machine; before the timeouts, requests stalled 5-15 s (10 s statement)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A private cluster: freezing it must not disturb the session's shared server."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("KEEL_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries not found")
        pytest.skip("PostgreSQL binaries not installed")
    server = PostgresServer(bindir)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.thaw()
        server.destroy()


async def test_requests_fail_fast_while_the_database_is_frozen(own_postgres: PostgresServer) -> None:
    url = own_postgres.create_database("bayit")
    settings = Settings(
        DATABASE_URL=url,
        SECRET_KEY=TEST_SECRET,
        DATABASE_CONNECT_TIMEOUT=TIMEOUT,
        DATABASE_POOL_TIMEOUT=TIMEOUT,
        DATABASE_STATEMENT_TIMEOUT=TIMEOUT,
        DATABASE_POOL_SIZE=2,
    )
    app = create_app(settings, migrate=False)
    await upgrade(app.state.db.engine)
    await seed(app.state.db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test", timeout=60) as client:
            auth = {"Authorization": f"Bearer {await register_and_login(client)}"}
            calls = [
                ("GET", "/api/v1/content?limit=5", None),
                ("GET", "/api/v1/content/3", None),
                ("GET", "/api/v1/live", None),
                ("GET", "/api/v1/users/me", auth),
                ("GET", "/api/v1/watchlist", auth),
                ("POST", "/api/v1/auth/login", None),
            ]

            async def timed(method: str, path: str, headers: dict[str, str] | None) -> tuple[int, float]:
                started = time.monotonic()
                body = {"email": "dana@example.com", "password": "correct horse battery"}
                r = await client.request(
                    method, path, headers=headers, json=body if method == "POST" else None
                )
                if r.status_code == 503:
                    assert r.headers["retry-after"] == "5"
                    assert r.json()["error"]["code"] == "service_unavailable"
                return r.status_code, time.monotonic() - started

            assert all(code == 200 for code, _ in await asyncio.gather(*(timed(*c) for c in calls)))

            await asyncio.to_thread(own_postgres.freeze)
            try:
                # twice as many requests as the pool holds connections, at once: some wait for the pool
                frozen = await asyncio.gather(*(timed(*c) for c in calls * 2))
            finally:
                await asyncio.to_thread(own_postgres.thaw)
            assert [code for code, _ in frozen] == [503] * len(frozen), frozen
            slowest = max(elapsed for _, elapsed in frozen)
            assert slowest < BOUND, f"a request took {slowest:.1f} s while the database was frozen"

            deadline = time.monotonic() + 30
            while True:  # recovers by itself: broken connections were discarded, not handed out again
                codes = [code for code, _ in await asyncio.gather(*(timed(*c) for c in calls))]
                if codes == [200] * len(calls):
                    break
                assert time.monotonic() < deadline, codes
                await asyncio.sleep(0.5)
    finally:
        await app.state.db.dispose()
