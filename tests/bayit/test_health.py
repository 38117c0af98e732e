"""keel.health inside the Bayit+ API: which checks, critical or optional, secrets, staging, GCS, metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine

from bayit.app import create_app
from bayit.db import Database
from bayit.health import HealthSettings, build_health, load_health_settings, settings_secrets
from bayit.settings import Environment, Settings, SettingsError, StorageType, load_settings
from keel.health import HealthConfigError, HealthMiddleware, Status
from tests.bayit.conftest import TEST_SECRET
from tests.keel.health.servers import ProviderStub, free_port, gcs_emulator, serve

SENTRY_DSN = "https://0123456789abcdef0123456789abcdef@o12345.ingest.us.sentry.io/4507000000000000"
TOKEN = "health-token-Zq81mVb3"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}"


@pytest.fixture(autouse=True)
def clean_health_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HEALTH_") or name.endswith("_BASE_URL"):
            monkeypatch.delenv(name)


def settings(url: str, **values: Any) -> Settings:
    return Settings(DATABASE_URL=url, SECRET_KEY=TEST_SECRET, **values)


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    app.state.health.mark_started()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as client:
            yield client
    finally:
        await app.state.health.stop()
        await app.state.db.dispose()


def services(response: httpx.Response) -> dict[str, dict[str, Any]]:
    return dict(response.json()["services"])


async def test_development_checks_and_criticality(sqlite_url: str) -> None:
    app = create_app(settings(sqlite_url), migrate=False)
    async with started(app) as client:
        deep = await client.get("/health/deep")  # development: details for everyone
        assert deep.status_code == 200
        found = services(deep)
        assert list(found) == [
            "database",
            "mongodb",
            "gcs",
            "openai",
            "elevenlabs",
            "anthropic",
            "pinecone",
            "sentry",
        ]
        assert found["database"]["status"] == "healthy"
        assert found["database"]["critical"] is True
        assert found["mongodb"] == {
            "status": "disabled",
            "latency_ms": found["mongodb"]["latency_ms"],
            "message": "MONGODB_URL is not set",
            "critical": False,
        }
        assert found["gcs"]["message"] == "STORAGE_TYPE=local"
        assert deep.json()["status"] == "healthy"
        ready = await client.get("/health/ready")
        assert ready.json()["checks"] == {"database": "healthy"}


async def test_staging_without_ai_keys_is_healthy_with_those_checks_disabled(sqlite_url: str) -> None:
    # build_health directly: create_app would initialise the Sentry SDK with this (unreachable) DSN
    staging = settings(sqlite_url, ENVIRONMENT="staging", SENTRY_DSN=SENTRY_DSN)
    db = Database(sqlite_url)
    health = build_health(staging, db.engine, HealthSettings(HEALTH_CHECK_TOKEN=TOKEN))
    health.mark_started()
    transport = httpx.ASGITransport(app=HealthMiddleware(None, health))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as client:
            public = await client.get("/health/deep")
            found = services(await client.get("/health/deep", headers={"X-Health-Token": TOKEN}))
            ready = await client.get("/health/ready")
    finally:
        await health.stop()
        await db.dispose()
    assert public.status_code == 200
    assert public.json()["status"] == "healthy"
    assert "services" not in public.json()  # staging: details need the token
    assert public.json()["summary"] == {
        "total": 8,
        "healthy": 2,
        "degraded": 0,
        "unhealthy": 0,
        "disabled": 6,
    }
    for name in ("openai", "elevenlabs", "anthropic", "pinecone"):
        assert found[name]["status"] == "disabled"
        assert found[name]["message"].endswith("is not set (declared optional in staging)")
    assert found["sentry"]["status"] == "healthy"
    assert ready.status_code == 200


async def test_production_without_ai_keys_is_degraded_not_down(sqlite_url: str) -> None:
    prod = settings(sqlite_url, ENVIRONMENT="production", SENTRY_DSN=SENTRY_DSN)
    db = Database(sqlite_url)
    health = build_health(prod, db.engine, HealthSettings())
    try:
        report = await health.deep()
    finally:
        await health.stop()
        await db.dispose()
    assert (report.status, report.http_status) == (Status.DEGRADED, 200)
    by_name = {r.name: r for r in report.results}
    assert by_name["openai"].message == "not configured: OPENAI_API_KEY is not set"
    assert by_name["openai"].status is Status.DEGRADED
    assert by_name["mongodb"].status is Status.DISABLED


def test_optional_unconfigured_can_be_declared_by_variable() -> None:
    hs = HealthSettings(HEALTH_OPTIONAL_UNCONFIGURED="OpenAI, pinecone")
    assert hs.optional_unconfigured(Environment.production) == {"openai", "pinecone"}
    assert (
        HealthSettings(HEALTH_OPTIONAL_UNCONFIGURED="none").optional_unconfigured(Environment.staging)
        == set()
    )
    assert HealthSettings().optional_unconfigured(Environment.staging) == {
        "openai",
        "elevenlabs",
        "anthropic",
        "pinecone",
    }
    with pytest.raises(HealthConfigError, match="HEALTH_OPTIONAL_UNCONFIGURED: unknown dependency redis"):
        HealthSettings(HEALTH_OPTIONAL_UNCONFIGURED="openai,redis").optional_unconfigured(Environment.staging)
    with pytest.raises(HealthConfigError, match="HEALTH_READY_TTL"):
        load_health_settings(HEALTH_READY_TTL=0)
    assert load_health_settings(HEALTH_CHECK_TOKEN="  ").HEALTH_CHECK_TOKEN is None


def test_gcs_storage_without_a_bucket_refuses_to_start(sqlite_url: str) -> None:
    with pytest.raises(SettingsError, match="GCS_BUCKET_NAME: required when STORAGE_TYPE=gcs"):
        load_settings(DATABASE_URL=sqlite_url, STORAGE_TYPE="gcs")
    unchecked = Settings.model_construct(DATABASE_URL=SecretStr(sqlite_url), STORAGE_TYPE=StorageType.gcs)
    with pytest.raises(HealthConfigError, match="GCS_BUCKET_NAME: required when STORAGE_TYPE=gcs"):
        build_health(unchecked, create_async_engine(sqlite_url), HealthSettings())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GCS_", "STORAGE_"))}
    env |= {"DATABASE_URL": sqlite_url, "STORAGE_TYPE": "gcs", "PORT": str(free_port())}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "bayit"), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "GCS_BUCKET_NAME: required when STORAGE_TYPE=gcs" in done.stderr


async def test_credentials_never_appear_in_responses_or_logs(
    postgres_server: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    db_password, mongo_password = "Db-Planted-Pass-8842", "Mongo-Planted-Pass-1177"
    keys = {
        "OPENAI_API_KEY": "sk-proj-PlantedOpenAI-9f8e7d6c5b4a",
        "ELEVENLABS_API_KEY": "PlantedElevenLabs9f8e7d6c5b4a",
        "ANTHROPIC_API_KEY": "sk-ant-PlantedAnthropic-9f8e7d6c",
        "PINECONE_API_KEY": "pcsk_PlantedPinecone_9f8e7d6c5b4a",
    }
    database_url = (
        f"postgresql+asyncpg://planted_db_user:{db_password}@127.0.0.1:{postgres_server.port}/postgres"
    )
    mongo_url = f"mongodb://planted_mongo_user:{mongo_password}@127.0.0.1:{free_port()}/bayit"
    planted = [
        db_password,
        "planted_db_user",
        mongo_password,
        "planted_mongo_user",
        database_url,
        mongo_url,
        TOKEN,
        TEST_SECRET,
        *keys.values(),
    ]
    async with AsyncExitStack() as stack:
        # each provider answers: OpenAI 401 (wrong key), ElevenLabs 500, Anthropic 429, Pinecone 401
        stubs = {
            "OPENAI": ProviderStub("openai", "some-other-key"),
            "ELEVENLABS": ProviderStub("elevenlabs", keys["ELEVENLABS_API_KEY"], status=500),
            "ANTHROPIC": ProviderStub("anthropic", keys["ANTHROPIC_API_KEY"], status=429),
            "PINECONE": ProviderStub("pinecone", "some-other-key"),
        }
        for prefix, stub in stubs.items():
            monkeypatch.setenv(f"{prefix}_BASE_URL", await stack.enter_async_context(serve(stub)))
        monkeypatch.setenv("HEALTH_CHECK_TOKEN", TOKEN)
        monkeypatch.setenv("HEALTH_OPTIONAL_UNCONFIGURED", "sentry")  # no DSN: create_app would init the SDK
        conf = settings(
            database_url,
            ENVIRONMENT="production",
            MONGODB_URL=mongo_url,
            PINECONE_INDEX_NAME="bayit-content",
            **keys,
        )
        app = create_app(conf, migrate=False)
        bodies: list[str] = []
        async with started(app) as client:
            for path in (
                "/health",
                "/health/live",
                "/health/startup",
                "/health/ready",
                "/health/deep",
                "/metrics",
            ):
                for headers in (
                    {},
                    {"X-Health-Token": TOKEN},
                    {"X-Health-Token": TOKEN, "Accept": "application/health+json"},
                ):
                    response = await client.get(path, headers=headers)
                    bodies.append(response.text)
            deep = await client.get("/health/deep", headers={"X-Health-Token": TOKEN})
    found = services(deep)
    assert deep.status_code == 503  # the critical database and MongoDB are down
    assert found["database"]["status"] == "unhealthy"
    assert found["mongodb"]["message"] == "server selection failed within 2 s: connection refused"
    assert found["openai"]["message"] == "credentials rejected (HTTP 401): configuration fault"
    assert found["elevenlabs"]["message"] == "unexpected HTTP 500"
    assert found["anthropic"]["status"] == "degraded"
    assert found["pinecone"]["status"] == "degraded"
    assert all(stub.requests for stub in stubs.values())
    text = "\n".join(bodies) + "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for secret in planted:
        assert secret not in text, secret
    assert "health check database: unknown -> unhealthy" in caplog.text


async def test_health_metrics_are_on_the_service_metrics(sqlite_url: str) -> None:
    app = create_app(settings(sqlite_url), migrate=False)
    async with started(app) as client:
        await client.get("/health/deep")
        text = (await client.get("/metrics")).text
    assert 'health_check_status{check="database"} 1.0' in text
    assert 'health_check_status{check="openai"} -1.0' in text
    assert 'health_check_latency_seconds{check="database"}' in text


async def test_startup_is_503_until_migrations_finish(sqlite_url: str) -> None:
    app = create_app(settings(sqlite_url, ENVIRONMENT="development"), migrate=True)
    async with serve(app, lifespan="on") as url, httpx.AsyncClient(base_url=url) as client:
        seen: list[int] = []
        for _ in range(300):
            seen.append((await client.get("/health/startup")).status_code)
            if seen[-1] == 200:
                break
            await asyncio.sleep(0.05)
        assert seen[-1] == 200
        assert set(seen) <= {200, 503}
        ready = await client.get("/health/ready")
        assert ready.status_code == 200
        assert (await client.get("/api/v1/content")).status_code == 200


def test_every_secret_setting_is_scrubbed(sqlite_url: str) -> None:
    conf = settings("postgresql://svc:pw-Planted-123@db-primary:5432/bayit", OPENAI_API_KEY="sk-x-123456789")
    found = settings_secrets(conf, HealthSettings(HEALTH_CHECK_TOKEN=TOKEN))
    assert {"pw-Planted-123", "svc", "db-primary", "sk-x-123456789", TOKEN, TEST_SECRET} <= found
    assert json.dumps(sorted(found))


async def test_gcs_storage_is_a_critical_readiness_check(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud import storage

    with gcs_emulator() as emulator:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator)
        storage.Client(project="bayit-test").create_bucket("bayit-media")
        for bucket, expected in (("bayit-media", 200), ("bayit-media-missing", 503)):
            conf = settings(
                sqlite_url, STORAGE_TYPE="gcs", GCS_BUCKET_NAME=bucket, GCP_PROJECT_ID="bayit-test"
            )
            app = create_app(conf, migrate=False)
            async with started(app) as client:
                ready = await client.get("/health/ready")
                deep = await client.get("/health/deep")
            assert ready.status_code == expected
            assert ready.json()["checks"]["gcs"] == ("healthy" if expected == 200 else "unhealthy")
            assert services(deep)["gcs"]["critical"] is True


@pytest.mark.parametrize(("critical", "ready_status"), [(False, 200), (True, 503)])
async def test_mongodb_criticality_follows_the_setting(
    sqlite_url: str, critical: bool, ready_status: int
) -> None:
    """No Bayit+ request reads MongoDB: unreachable, it is reported, and unready only when declared critical."""
    mongo_url = f"mongodb://svc:Mongo-Pass-1@127.0.0.1:{free_port()}/bayit"
    conf = settings(sqlite_url, MONGODB_URL=mongo_url, MONGODB_CRITICAL=critical)
    db = Database(sqlite_url)
    health = build_health(conf, db.engine, HealthSettings())
    health.mark_started()
    try:
        ready = await health.ready()
        deep = await health.deep()
    finally:
        await health.stop()
        await db.dispose()
    assert ready.http_status == ready_status
    mongo = {r.name: r for r in deep.results}["mongodb"]
    assert mongo.status is (Status.UNHEALTHY if critical else Status.DEGRADED)
