"""Request limits at the edge: oversized bodies (declared or streamed), oversized headers and stalled bodies are
refused early with the error envelope, under configurable limits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bayit.app import create_app
from bayit.settings import Settings
from tests.bayit.conftest import TEST_SECRET
from tests.keel.health.servers import serve

LIMIT = 4096


@pytest.fixture
async def limited_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}",
        SECRET_KEY=TEST_SECRET,
        MAX_REQUEST_BODY_BYTES=LIMIT,
        MAX_REQUEST_HEADERS=50,
        MAX_REQUEST_HEADER_BYTES=8192,
        REQUEST_BODY_TIMEOUT=0.5,
    )
    app = create_app(settings, migrate=True)
    yield app


async def raw_exchange(base: str, head: bytes, body: bytes = b"", wait: float = 10.0) -> tuple[bytes, float]:
    """Send ``head`` (and ``body``) on a raw connection, never the rest; return the answer and its delay."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.monotonic()
    writer.write(head + body)
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()
    return answer, time.monotonic() - started


def envelope(answer: bytes) -> tuple[int, dict[str, object]]:
    status = int(answer.split(b" ", 2)[1])
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    return status, body


async def test_declared_oversized_body_is_413_before_it_is_sent(limited_app: FastAPI) -> None:
    async with serve(limited_app, lifespan="on") as base:
        head = (
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"X-Correlation-ID: big-body\r\nContent-Length: 104857600\r\n\r\n"
        )
        answer, _ = await raw_exchange(base, head, b'{"email": ')  # 100 MB announced, 10 bytes sent
    status, body = envelope(answer)
    assert status == 413
    assert body["error"] == {
        "code": "payload_too_large",
        "message": f"request body larger than {LIMIT} bytes",
    }
    assert body["correlation_id"] == "big-body"


async def test_streamed_body_past_the_limit_is_413(limited_app: FastAPI) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "a@example.com", "password": "'
        for _ in range(100):
            yield b"x" * 1024

    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post(
            "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["correlation_id"] == r.headers["x-correlation-id"]


async def test_a_body_under_the_limit_passes(limited_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x" * 100})
    assert r.status_code != 413


@pytest.mark.parametrize(
    "headers",
    [
        {f"X-Filler-{i}": "1" for i in range(60)},  # too many
        {"X-Big": "a" * 9000},  # too large
    ],
)
async def test_oversized_headers_are_431(limited_app: FastAPI, headers: dict[str, str]) -> None:
    transport = httpx.ASGITransport(app=limited_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/api/v1/content", headers=headers)
    assert r.status_code == 431
    assert r.json()["error"]["code"] == "request_header_fields_too_large"


async def test_a_body_that_never_arrives_is_408_within_the_timeout(limited_app: FastAPI) -> None:
    async with serve(limited_app, lifespan="on") as base:
        head = (
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n"
        )
        answer, elapsed = await raw_exchange(base, head, b'{"email": ')
    status, body = envelope(answer)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert elapsed < 5.0  # the timeout is 0.5 s; the default connection would have waited 30 s
