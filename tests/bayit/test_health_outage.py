"""A real PostgreSQL outage under the Bayit+ API: readiness follows the database, liveness never does."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from bayit.app import create_app
from bayit.settings import Settings
from tests.bayit.conftest import TEST_SECRET
from tests.keel.health.servers import serve
from tests.support.postgres import PostgresServer, find_bindir

pytestmark = pytest.mark.postgres

POLL = 0.1
PLANTED = "Outage-Planted-Pass-5521"
TOKEN = "outage-token-Hq27"
READY_TTL = 1.0  # the Bayit+ default (HEALTH_READY_TTL)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A private cluster: stopping it must not disturb the session's shared server."""
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
        server.destroy()


async def test_ready_follows_a_postgres_outage_and_live_never_fails(
    own_postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in list(os.environ):
        if name.startswith("HEALTH_"):
            monkeypatch.delenv(name)
    caplog.set_level(logging.DEBUG)
    own_postgres.create_database("bayit")
    # trust authentication ignores the password: it is planted to prove it never shows, even during the outage
    url = f"postgresql+asyncpg://postgres:{PLANTED}@127.0.0.1:{own_postgres.port}/bayit"
    monkeypatch.setenv("HEALTH_CHECK_TOKEN", TOKEN)
    app = create_app(Settings(DATABASE_URL=url, SECRET_KEY=TEST_SECRET, ENVIRONMENT="staging"), migrate=True)
    bodies: list[str] = []
    live_codes: list[int] = []
    ready_log: list[tuple[float, int]] = []
    stop_polling = asyncio.Event()

    async with serve(app, lifespan="on") as base, httpx.AsyncClient(base_url=base, timeout=10) as client:

        async def poll() -> None:
            while not stop_polling.is_set():
                ready, live = await asyncio.gather(client.get("/health/ready"), client.get("/health/live"))
                ready_log.append((time.monotonic(), ready.status_code))
                live_codes.append(live.status_code)
                await asyncio.sleep(POLL)

        async def wait_for(code: int, since: float, limit: float) -> float:
            deadline = since + limit + 5  # look a little past the limit, so a miss reports how late it was
            while time.monotonic() < deadline:
                hits = [t for t, c in ready_log if t >= since and c == code]
                if hits:
                    return hits[0] - since
                await asyncio.sleep(0.02)
            raise AssertionError(f"/health/ready never answered {code}")

        poller = asyncio.create_task(poll())
        try:
            started = time.monotonic()
            assert await wait_for(200, started, 60) < 60  # migrations done, database reachable
            await asyncio.sleep(1.0)

            stopped = time.monotonic()
            await asyncio.to_thread(own_postgres.stop, "fast")
            became_503 = await wait_for(503, stopped, 2.0)
            assert became_503 <= 2.0, f"ready turned 503 only after {became_503:.2f} s"
            await asyncio.sleep(1.0)
            down_since = stopped + became_503
            assert all(code == 503 for t, code in ready_log if t > down_since), "ready flapped while down"
            for headers in (
                {},
                {"X-Health-Token": TOKEN},
                {"X-Health-Token": TOKEN, "Accept": "application/health+json"},
            ):
                deep = await client.get("/health/deep", headers=headers)
                assert deep.status_code == 503
                bodies.append(deep.text)
            bodies.append((await client.get("/health/ready")).text)
            assert bodies[1] and json.loads(bodies[1])["services"]["database"]["status"] == "unhealthy"

            await asyncio.to_thread(own_postgres.start)  # returns once PostgreSQL accepts connections
            restarted = time.monotonic()
            back = await wait_for(200, restarted, READY_TTL + 1.0)
            assert back <= READY_TTL + 1.0, f"ready came back only after {back:.2f} s"
        finally:
            stop_polling.set()
            await poller
    assert live_codes and set(live_codes) == {200}
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "health check database: healthy -> unhealthy" in logged
    for secret in (PLANTED, TOKEN, url):
        assert secret not in logged
        assert all(secret not in body for body in bodies)
