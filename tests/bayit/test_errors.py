"""Every error response carries the envelope and the correlation id: unexpected 500s, the health paths' 405,
and the API's 405 (with an ``Allow`` naming every method of the path); HEAD is answered wherever GET is."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI


def assert_envelope(r: httpx.Response, status: int, code: str, cid: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code
    assert body["correlation_id"] == r.headers["x-correlation-id"]
    if cid is not None:
        assert body["correlation_id"] == cid


async def test_an_unexpected_500_keeps_the_envelope_and_correlation_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/broken", broken)
    r = await client.get("/api/v1/broken", headers={"X-Correlation-ID": "trace-500"})
    assert_envelope(r, 500, "internal_error", "trace-500")
    assert "a bug" not in r.text
    generated = await client.get("/api/v1/broken")
    assert_envelope(generated, 500, "internal_error")
    assert len(generated.headers["x-correlation-id"]) == 32


@pytest.mark.parametrize(
    "path", ["/health", "/health/live", "/health/ready", "/health/deep", "/health/startup"]
)
async def test_health_paths_405_has_the_envelope(client: httpx.AsyncClient, path: str) -> None:
    r = await client.post(path, headers={"X-Correlation-ID": "probe-405"})
    assert_envelope(r, 405, "method_not_allowed", "probe-405")
    assert r.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/users/me", "DELETE, GET, HEAD"),
        ("PATCH", "/api/v1/watchlist", "GET, HEAD, POST"),
        ("GET", "/api/v1/watchlist/3", "DELETE"),
        ("POST", "/api/v1/content", "GET, HEAD"),
        ("DELETE", "/api/v1/auth/login", "POST"),
    ],
)
async def test_api_405_allow_lists_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    r = await client.request(method, path)
    assert_envelope(r, 405, "method_not_allowed")
    assert r.headers["allow"] == allow


@pytest.mark.parametrize("path", ["/api/v1/content?limit=2", "/api/v1/content/1", "/api/v1/live", "/api/v1/"])
async def test_head_is_answered_like_get_without_a_body(client: httpx.AsyncClient, path: str) -> None:
    get = await client.get(path)
    head = await client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]
