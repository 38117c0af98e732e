"""A client written for the original Bayit+ API (Olorin-ai-git/Bayit-Plus) works against this service: its
request shapes (register with ``name``, ``content_id`` as a string with ``content_type``), the token from
register, ``/auth/me``, ``/live/channels``, ``/watchlist/check`` and ``/watchlist/toggle``, and the checks of its
deployment smoke script."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

ORIGINAL_PASSWORD = "Orig-Pass-77!"  # the original's rules: upper, lower, digit, special character


async def test_a_client_of_the_original_api(client: httpx.AsyncClient) -> None:
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "orig@example.com", "name": "Orig User", "password": ORIGINAL_PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    assert body["user"]["name"] == "Orig User" and body["user"]["email"] == "orig@example.com"
    auth = {"Authorization": f"Bearer {body['access_token']}"}  # signed in straight from register

    me = (await client.get("/api/v1/auth/me", headers=auth)).json()
    assert me["name"] == me["display_name"] == "Orig User"
    assert me["is_active"] is True
    assert me == (await client.get("/api/v1/users/me", headers=auth)).json()

    login = await client.post(
        "/api/v1/auth/login", json={"email": "orig@example.com", "password": ORIGINAL_PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["user"]["name"] == "Orig User"

    channels = (await client.get("/api/v1/live/channels")).json()
    assert channels["total"] == len(channels["channels"]) >= 1
    first = channels["channels"][0]
    assert {
        "id",
        "name",
        "description",
        "thumbnail",
        "logo",
        "category",
        "currentShow",
        "nextShow",
    } <= first.keys()
    assert (await client.get("/api/v1/live/channels", params={"category": first["category"]})).json()[
        "total"
    ] >= 1

    added = await client.post(
        "/api/v1/watchlist", json={"content_id": "3", "content_type": "vod"}, headers=auth
    )
    assert added.status_code == 201, added.text
    assert (await client.get("/api/v1/watchlist/check/3", headers=auth)).json() == {
        "in_watchlist": True,
        "message": None,
    }
    item = (await client.get("/api/v1/watchlist", headers=auth)).json()["items"][0]
    assert item["id"] == 3 and item["title"] and item["addedAt"] == item["added_at"]
    toggled = (await client.post("/api/v1/watchlist/toggle/3", headers=auth)).json()
    assert toggled["in_watchlist"] is False
    assert (await client.get("/api/v1/watchlist/check/3", headers=auth)).json()["in_watchlist"] is False
    assert (await client.post("/api/v1/watchlist/toggle/3?content_type=vod", headers=auth)).json()[
        "in_watchlist"
    ] is True
    assert (await client.post("/api/v1/watchlist/toggle/999999", headers=auth)).status_code == 404
    live = await client.post(
        "/api/v1/watchlist", json={"content_id": "1", "content_type": "live"}, headers=auth
    )
    assert live.status_code == 422  # live channels are not watchlist items here (documented difference)


async def test_the_original_smoke_script_checks(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The 12 checks of the original scripts/backend/production/deployment/smoke_tests.sh, request for request
    (the script itself stops after its first check under ``set -e``: ``((PASSED++))`` from 0 returns 1)."""
    app.state.health.mark_started()  # what the lifespan does once migrations are done
    expected = [
        ("/health", 200),
        ("/health/live", 200),
        ("/health/ready", 200),
        ("/health/deep", 200),
        ("/api/v1/", 200),
        ("/openapi.json", 200),
        ("/docs", 200),
        ("/api/v1/users/me", 401),
        ("/api/v1/watchlist", 401),
        ("/api/v1/content?limit=5", 200),
        ("/api/v1/live?limit=5", 200),
    ]
    for path, status in expected:
        assert (await client.get(path)).status_code == status, path
    assert (await client.get("/health")).json()["status"] == "healthy"
