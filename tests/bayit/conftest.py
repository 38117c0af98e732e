"""Fixtures for the Bayit+ API: the app on SQLite and on a real PostgreSQL, migrated and seeded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bayit.app import create_app
from bayit.migrate import upgrade
from bayit.seed import seed
from bayit.settings import Settings

TEST_SECRET = "kT9vQ2mX7pL4wR8zN3bH6jF1cY5dG0sA-tUeWiOqPy"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, migrate=False)
    await upgrade(application.state.db.engine)
    await seed(application.state.db)
    try:
        yield application
    finally:
        await application.state.db.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as c:
        yield c


async def register_and_login(client: httpx.AsyncClient, email: str = "dana@example.com") -> str:
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": "correct horse battery", "display_name": "Dana"},
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])
