"""Hostile and malformed input is the client's error (4xx with the error envelope), never a database outage."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bayit.errors import bad_value, database_unavailable
from bayit.models import Content
from tests.bayit.conftest import register_and_login


def assert_client_error(r: httpx.Response, status: int, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert "retry-after" not in r.headers
    body = r.json()
    assert body["error"]["code"] in ("validation_error", "bad_request")
    assert body["correlation_id"] == r.headers["x-correlation-id"]
    if field is not None:
        assert [f["field"] for f in body["error"]["fields"]] == [field]


@pytest.mark.parametrize("q", ["\x00", "a\x00b", "line\nbreak", "   "])
async def test_search_with_control_characters_or_blank_is_422(client: httpx.AsyncClient, q: str) -> None:
    r = await client.get("/api/v1/content", params={"q": q})
    assert_client_error(r, 422, "q")
    assert "items" not in r.json()  # on SQLite a NUL used to match the whole catalog


async def test_percent_encoded_nul_in_the_raw_query_is_422(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/content?q=%00")
    assert_client_error(r, 422, "q")
    assert "control characters" in r.json()["error"]["message"]


@pytest.mark.parametrize("content_id", [2**31, 2**63, 2**63 + 1, 2**64, 10**30, 0, -1])
async def test_watchlist_ids_beyond_the_column_are_422(client: httpx.AsyncClient, content_id: int) -> None:
    auth = {"Authorization": f"Bearer {await register_and_login(client)}"}
    r = await client.post("/api/v1/watchlist", json={"content_id": content_id}, headers=auth)
    assert_client_error(r, 422, "content_id")
    assert (await client.delete(f"/api/v1/watchlist/{content_id}", headers=auth)).status_code == 422
    assert (await client.get(f"/api/v1/content/{content_id}")).status_code == 422


async def test_largest_id_is_a_plain_404(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {await register_and_login(client)}"}
    r = await client.post("/api/v1/watchlist", json={"content_id": 2**31 - 1}, headers=auth)
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/content/{2**31 - 1}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"email": "nul@example.com", "password": "long enough pass", "display_name": "Da\x00na"},
            "display_name",
        ),
        (
            {"email": "sp@example.com", "password": "long enough pass", "display_name": "     "},
            "display_name",
        ),
        ({"email": "nl@example.com", "password": "long enough pass", "display_name": "a\nb"}, "display_name"),
        ({"email": "n\x00l@example.com", "password": "long enough pass", "display_name": "N"}, "email"),
        ({"email": "pw@example.com", "password": "long enough\x00pass", "display_name": "P"}, "password"),
    ],
)
async def test_register_refuses_control_characters_and_blank_names(
    client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    assert_client_error(await client.post("/api/v1/auth/register", json=body), 422, field)


async def test_display_name_is_stored_trimmed(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "trim@example.com", "password": "long enough pass", "display_name": "  Dana  "},
    )
    assert r.status_code == 201 and r.json()["display_name"] == "Dana"


async def test_login_with_nul_is_422(client: httpx.AsyncClient) -> None:
    for body in (
        {"email": "a\x00@example.com", "password": "whatever1"},
        {"email": "a@example.com", "password": "what\x00ever"},
    ):
        assert (await client.post("/api/v1/auth/login", json=body)).status_code == 422


async def test_values_the_database_refuses_are_not_classed_as_an_outage(app: FastAPI) -> None:
    """The net under the edge validation: a driver or server refusing a value is not "unavailable"."""
    db = app.state.db
    statements = [
        select(Content.id).where(Content.id == 2**63),
        select(Content.id).where(Content.id == 2**64),
    ]
    if db.dialect == "postgresql":
        statements += [
            select(Content.id).where(Content.id == 2**31),
            select(Content.id).where(Content.title == "a\x00"),
        ]
    for statement in statements:
        with pytest.raises(Exception) as caught:
            async with db.read() as conn:
                await conn.execute(statement)
        assert not database_unavailable(caught.value), repr(caught.value)
        assert bad_value(caught.value), repr(caught.value)
