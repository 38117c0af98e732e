"""The catalog's fast lane (bayit.front): what the middleware stack does for a request, the lane does too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk
from fastapi import FastAPI

from bayit import catalog
from bayit.app import create_app
from bayit.front import CatalogLane
from bayit.settings import Settings
from tests.bayit.conftest import TEST_SECRET
from tests.bayit.test_sentry import Captured, sentry_server  # noqa: F401 -- the capture server fixture
from tests.support.postgres import free_port


async def test_the_catalog_is_answered_by_the_lane_with_the_stacks_headers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    r = await client.get("/api/v1/content?limit=2", headers={"X-Correlation-ID": "lane-1"})
    assert isinstance(app.middleware_stack, CatalogLane)  # wired in front of everything
    assert r.status_code == 200
    assert r.headers["x-correlation-id"] == "lane-1"
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == catalog.CACHE_CONTROL
    assert int(r.headers["content-length"]) == len(r.content)
    assert [item["id"] for item in r.json()["items"]] == [1, 2]

    head = await client.head("/api/v1/content?limit=2")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == r.headers["etag"]
    assert head.headers["content-length"] == r.headers["content-length"]

    cached = await client.get(
        "/api/v1/content?limit=2", headers={"If-None-Match": r.headers["etag"], "X-Correlation-ID": "lane-2"}
    )
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["x-correlation-id"] == "lane-2"

    # other methods and paths still go through the stack: 405 with the API's Allow header
    post = await client.post("/api/v1/content", json={})
    assert post.status_code == 405
    assert post.json()["error"]["code"] == "method_not_allowed"


async def test_refusals_and_errors_in_the_lane_carry_the_envelope_and_are_counted(
    client: httpx.AsyncClient,
) -> None:
    bad = await client.get("/api/v1/content?limit=0", headers={"X-Correlation-ID": "lane-422"})
    assert bad.status_code == 422
    assert bad.headers["x-correlation-id"] == "lane-422"
    assert bad.json()["correlation_id"] == "lane-422"
    assert bad.json()["error"]["fields"][0]["field"] == "limit"

    huge = await client.get(
        "/api/v1/content", headers={"X-Big": "x" * 20_000, "X-Correlation-ID": "lane-431"}
    )
    assert huge.status_code == 431
    assert huge.json()["correlation_id"] == "lane-431"
    assert huge.headers["x-correlation-id"] == "lane-431"

    declared = await client.get("/api/v1/content", headers={"Content-Length": "2000000000"})
    assert declared.status_code == 413

    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/api/v1/content",status="422"}' in text
    assert 'http_requests_total{method="GET",route="unmatched",status="431"}' in text
    assert 'http_request_duration_seconds_count{method="GET",route="/api/v1/content",status="422"}' in text


async def test_an_unexpected_error_in_the_lane_is_a_500_with_the_correlation_id_and_logged(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog, "page", broken)
    r = await client.get("/api/v1/content", headers={"X-Correlation-ID": "lane-500"})
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert r.json()["correlation_id"] == "lane-500"
    assert r.headers["x-correlation-id"] == "lane-500"
    assert "boom" not in r.text
    assert any(rec.name == "bayit.errors" and rec.exc_info for rec in caplog.records)


async def test_cross_origin_requests_and_injected_faults_take_the_full_stack(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(make_settings(CORS_ALLOW_ORIGINS="https://bayit.tv"), migrate=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as c:
        r = await c.get("/api/v1/content", headers={"Origin": "https://bayit.tv"})
    await app.state.db.dispose()
    assert r.headers["access-control-allow-origin"] == "https://bayit.tv"
    assert "X-Correlation-ID" in r.headers["access-control-expose-headers"]

    monkeypatch.setenv("BAYIT_FAULT_ERROR_RATE", "1")
    app = create_app(make_settings(), migrate=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as c:
        faulty = await c.get("/api/v1/content")
    await app.state.db.dispose()
    assert faulty.status_code == 500
    assert "injected fault" in faulty.text


@pytest.mark.postgres
async def test_a_database_that_refuses_connections_is_a_503_with_retry_after() -> None:
    settings = Settings(
        DATABASE_URL=f"postgresql://bayit:pw@127.0.0.1:{free_port()}/bayit",
        SECRET_KEY=TEST_SECRET,
        DATABASE_CONNECT_TIMEOUT=1,
        DATABASE_POOL_TIMEOUT=1,
    )
    app = create_app(settings, migrate=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as c:
        r = await c.get("/api/v1/content", headers={"X-Correlation-ID": "lane-503"})
    await app.state.db.dispose()
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert r.json()["error"]["code"] == "service_unavailable"
    assert r.json()["correlation_id"] == "lane-503"
    assert "pw" not in r.text


async def test_an_error_in_the_lane_reaches_sentry(
    sentry_server: tuple[str, Captured],  # noqa: F811 -- the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn, captured = sentry_server
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}", SECRET_KEY=TEST_SECRET, SENTRY_DSN=dsn
    )
    app = create_app(settings, migrate=False)

    async def broken(*_args: Any, **_kwargs: Any) -> bytes:
        raise RuntimeError("catalog broke")

    monkeypatch.setattr(catalog, "page", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as c:
        r = await c.get("/api/v1/content?q=private", headers={"X-Correlation-ID": "lane-sentry"})
    await app.state.db.dispose()
    sentry_sdk.flush(timeout=10)
    assert r.status_code == 500
    exceptions = [e for e in captured.events() if "exception" in e]
    assert [e["exception"]["values"][-1]["type"] for e in exceptions] == ["RuntimeError"]
    assert "query_string" not in exceptions[0].get("request", {})
