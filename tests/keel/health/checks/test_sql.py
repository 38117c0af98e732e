from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from keel.health.asgi import HealthMiddleware
from keel.health.base import Outcome, Status
from keel.health.checks import SqlCheck
from keel.health.registry import Health, HealthConfig
from tests.keel.health.fakes import FakeClock

pytestmark = pytest.mark.postgres


def test_exactly_one_source_of_engine() -> None:
    with pytest.raises(TypeError, match="exactly one"):
        SqlCheck()
    with pytest.raises(TypeError, match="exactly one"):
        SqlCheck(create_async_engine("sqlite+aiosqlite://"), url="sqlite+aiosqlite://")


async def test_select_one_on_the_services_engine(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    try:
        check = SqlCheck(engine)
        assert check.component_type == "datastore"
        assert (await check.probe()).outcome is Outcome.OK
        assert "127.0.0.1" in set(check.secrets())
        await check.aclose()  # not owned: left open
        lazy = SqlCheck(lambda: engine, name="db")
        assert (await lazy.probe()).message == "SELECT 1 ok"
    finally:
        await engine.dispose()


async def test_engine_built_from_a_url_is_owned_and_disposed(postgres_url: str) -> None:
    check = SqlCheck(url=postgres_url)
    assert (await check.probe()).outcome is Outcome.OK
    assert check.engine is check.engine
    await check.aclose()
    await check.aclose()


def test_secrets_when_the_engine_cannot_be_resolved() -> None:
    def broken() -> AsyncEngine:
        raise RuntimeError("app.state.db not set yet")

    assert list(SqlCheck(broken).secrets()) == []


async def test_failures_never_show_the_connection_string(
    postgres_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user, password = "planted_user_x", "Planted-Pa55word-Q"
    url = f"postgresql+asyncpg://{user}:{password}@127.0.0.1:{postgres_server.port}/postgres"
    health = Health(HealthConfig(app="svc")).add(SqlCheck(url=url), critical=True)
    report = await health.deep()
    result = report.results[0]
    assert result.status is Status.UNHEALTHY
    assert result.message.startswith("InvalidAuthorizationSpecificationError") or "role" in result.message
    for leaked in (user, password, url, "127.0.0.1"):
        assert leaked not in result.message
        assert all(leaked not in message for message in caplog.messages)
    await health.stop()


async def test_200_concurrent_ready_probes_make_one_database_round_trip_per_ttl(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url, pool_size=5)
    round_trips: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.strip() == "SELECT 1":
            round_trips.append(statement)

    clock = FakeClock()
    health = Health(HealthConfig(ready_ttl=1.0), clock=clock).add(SqlCheck(engine), critical=True)
    health.mark_started()
    transport = httpx.ASGITransport(app=HealthMiddleware(None, health))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
            for window in (1, 2, 3):
                responses = await asyncio.gather(*(client.get("/health/ready") for _ in range(200)))
                assert [r.status_code for r in responses] == [200] * 200
                assert len(round_trips) == window
                clock.advance(0.5)  # still inside the window
                await asyncio.gather(*(client.get("/health/ready") for _ in range(50)))
                assert len(round_trips) == window
                clock.advance(0.51)  # the TTL has passed: the next window may probe once
    finally:
        await engine.dispose()
