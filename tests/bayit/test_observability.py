"""Correlation ids, JSON logs, Prometheus metrics by route template, Sentry scrubbing."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from bayit.observability import JsonFormatter, correlation_id
from bayit.sentry import scrub_event


async def test_correlation_id_is_honoured_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/live", headers={"X-Correlation-ID": "req-abc.123"})
    assert r.headers["x-correlation-id"] == "req-abc.123"
    generated = (await client.get("/api/v1/live")).headers["x-correlation-id"]
    assert len(generated) == 32
    hostile = await client.get("/api/v1/live", headers={"X-Correlation-ID": "x" * 500})
    assert hostile.headers["x-correlation-id"] != "x" * 500
    error = await client.get("/api/v1/content/999999", headers={"X-Correlation-ID": "trace-404"})
    assert error.json()["correlation_id"] == "trace-404"


async def test_metrics_are_labelled_by_route_template(client: httpx.AsyncClient) -> None:
    for i in (1, 2, 3):
        await client.get(f"/api/v1/content/{i}")
    await client.get("/api/v1/content/999999")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/api/v1/content/{content_id}",status="200"}' in text
    assert 'route="/api/v1/content/{content_id}",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/content/1"' not in text


async def test_access_log_is_json_with_correlation_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bayit.access")
    await client.get("/api/v1/content", params={"limit": 1}, headers={"X-Correlation-ID": "log-me"})
    records = [r for r in caplog.records if r.name == "bayit.access"]
    token = correlation_id.set("log-me")
    try:
        line = json.loads(JsonFormatter().format(records[-1]))
    finally:
        correlation_id.reset(token)
    assert line["route"] == "/api/v1/content"
    assert line["status"] == 200
    assert line["correlation_id"] == "log-me"
    assert line["level"] == "info"


def test_sentry_events_are_scrubbed() -> None:
    event = {
        "request": {
            "headers": {"Authorization": "Bearer abc", "Accept": "*/*"},
            "data": {"password": "p"},
            "cookies": "s=1",
        },
        "user": {"id": 7, "email": "dana@example.com", "ip_address": "1.2.3.4"},
    }
    out = scrub_event(event, {})
    assert out["request"]["headers"] == {"Accept": "*/*"}
    assert "data" not in out["request"] and "cookies" not in out["request"]
    assert out["user"] == {"id": 7}
