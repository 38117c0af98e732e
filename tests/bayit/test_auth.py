"""Registration, login, tokens (including expired, forged and rotated keys), and the watchlist barrier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from bayit.app import create_app
from bayit.security import create_token
from tests.bayit.conftest import TEST_SECRET, register_and_login

OTHER_KEY = "Zr4Nb8Lp2Xw6Qm0Tc3Vy7Hd1Kg5Jf9Sa-oEuIyRtWq"


async def test_protected_routes_need_a_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/v1/users/me"),
        ("GET", "/api/v1/watchlist"),
        ("POST", "/api/v1/watchlist"),
    ]:
        r = await client.request(method, path, json={"content_id": 1} if method == "POST" else None)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "unauthorized"


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    token = await register_and_login(client, "Dana@Example.com")
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["email"] == "dana@example.com"
    assert "password" not in r.text and "hash" not in r.text


async def test_duplicate_registration_and_bad_credentials(client: httpx.AsyncClient) -> None:
    await register_and_login(client)
    again = await client.post(
        "/api/v1/auth/register",
        json={"email": "DANA@example.com", "password": "another password", "display_name": "D"},
    )
    assert again.status_code == 409
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "dana@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "x@example.com", "password": "whatever1"}
    )
    assert unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


async def test_registration_validation(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "password": "short", "display_name": ""}
    )
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["error"]["fields"]}
    assert fields == {"email", "password", "display_name"}
    malformed = await client.post(
        "/api/v1/auth/register", content=b'{"email": "a@b.c",', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert "not valid JSON" in malformed.json()["error"]["message"]
    extra = await client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "x" * 9, "admin": True}
    )
    assert extra.status_code == 422


async def test_expired_forged_and_garbage_tokens(client: httpx.AsyncClient) -> None:
    await register_and_login(client)
    now = datetime.now(UTC)
    expired = jwt.encode(
        {"sub": "1", "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1), "iss": "bayit-plus"},
        TEST_SECRET,
        algorithm="HS256",
    )
    forged = create_token(1, OTHER_KEY, 10).access_token
    none_alg = jwt.encode(
        {"sub": "1", "iat": now, "exp": now + timedelta(hours=1), "iss": "bayit-plus"}, None, algorithm="none"
    )
    cases = {"token expired": expired, "invalid token": forged}
    for message, token in cases.items():
        r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert r.json()["error"]["message"] == message
    for token in (none_alg, "garbage", "a.b.c"):
        r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
    basic = await client.get("/api/v1/users/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401


async def test_token_of_deleted_user_is_refused(client: httpx.AsyncClient) -> None:
    token = await register_and_login(client)
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.delete("/api/v1/users/me", headers=auth)).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=auth)).status_code == 401


async def test_watchlist_flow(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {await register_and_login(client)}"}
    assert (await client.get("/api/v1/watchlist", headers=auth)).json() == {"items": [], "total": 0}
    added = await client.post("/api/v1/watchlist", json={"content_id": 3}, headers=auth)
    assert added.status_code == 201
    assert added.json()["content"]["id"] == 3
    assert (await client.post("/api/v1/watchlist", json={"content_id": 3}, headers=auth)).status_code == 409
    assert (
        await client.post("/api/v1/watchlist", json={"content_id": 999999}, headers=auth)
    ).status_code == 404
    assert (await client.post("/api/v1/watchlist", json={"content_id": "x"}, headers=auth)).status_code == 422
    listed = (await client.get("/api/v1/watchlist", headers=auth)).json()
    assert [i["content"]["id"] for i in listed["items"]] == [3]
    assert (await client.delete("/api/v1/watchlist/3", headers=auth)).status_code == 204
    assert (await client.delete("/api/v1/watchlist/3", headers=auth)).status_code == 404
    assert (await client.get("/api/v1/watchlist", headers=auth)).json()["total"] == 0


async def test_watchlists_are_private(client: httpx.AsyncClient) -> None:
    a = {"Authorization": f"Bearer {await register_and_login(client, 'a@example.com')}"}
    b = {"Authorization": f"Bearer {await register_and_login(client, 'b@example.com')}"}
    await client.post("/api/v1/watchlist", json={"content_id": 5}, headers=a)
    assert (await client.get("/api/v1/watchlist", headers=b)).json()["total"] == 0
    assert (await client.delete("/api/v1/watchlist/5", headers=b)).status_code == 404


async def test_password_policy_refuses_common_blank_and_repetitive_passwords(
    client: httpx.AsyncClient,
) -> None:
    for password, reason in [
        ("password", "most common"),
        ("12345678", "most common"),
        ("Password123", "most common"),
        ("        ", "only spaces"),
        ("aaaaaaaaaaaa", "different characters"),
        ("abababab", "different characters"),
    ]:
        r = await client.post(
            "/api/v1/auth/register",
            json={"email": "p@example.com", "password": password, "display_name": "P"},
        )
        assert r.status_code == 422, password
        assert r.json()["error"]["fields"][0]["field"] == "password"
        assert reason in r.json()["error"]["message"]
        assert set(r.json()["error"]["fields"][0]) == {"field", "message"}  # the value is never echoed


async def test_cors_is_off_by_default_and_follows_the_setting(make_settings: Any) -> None:
    for origins, allowed in [(None, None), ("https://bayit.tv", "https://bayit.tv")]:
        app = create_app(make_settings(CORS_ALLOW_ORIGINS=origins), migrate=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as c:
            preflight = await c.options(
                "/api/v1/watchlist",
                headers={
                    "Origin": "https://bayit.tv",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            )
            evil = await c.options(
                "/api/v1/watchlist",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            )
        await app.state.db.dispose()
        assert preflight.headers.get("access-control-allow-origin") == allowed
        assert "access-control-allow-origin" not in evil.headers
        if allowed:
            assert preflight.status_code == 200
            assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


async def test_timestamps_read_back_with_their_timezone(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "tz@example.com", "password": "long enough pass", "display_name": "Tz"},
    )
    written = r.json()["created_at"]
    login = await client.post(
        "/api/v1/auth/login", json={"email": "tz@example.com", "password": "long enough pass"}
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    read = (await client.get("/api/v1/users/me", headers=auth)).json()["created_at"]
    assert read == written and read.endswith("Z")  # SQLite used to drop the zone on the way back
    added = (await client.post("/api/v1/watchlist", json={"content_id": 2}, headers=auth)).json()["added_at"]
    listed = (await client.get("/api/v1/watchlist", headers=auth)).json()["items"][0]["added_at"]
    assert listed == added and listed.endswith("Z")
