"""Sentry events, received by a local server speaking Sentry's envelope protocol, carry nothing secret or
personal: no token, password, secret setting, email, cookie, query string or request body."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk
from fastapi import Request

from bayit.api.deps import UserDep
from bayit.app import create_app
from bayit.migrate import upgrade
from bayit.seed import seed
from bayit.sentry import Scrubber
from bayit.settings import Settings
from tests.bayit.conftest import TEST_SECRET

PASSWORD = "Planted-Pass-word-7731"
EMAIL = "leaky.user@example.org"
OPENAI_KEY = "sk-planted-openai-key-0123456789"
DB_PASSWORD = "Db-Planted-Secret-4455"


@dataclass
class Captured:
    envelopes: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def items(self) -> list[dict[str, Any]]:
        """Every JSON item of every envelope (the envelope header lines included)."""
        found = []
        for raw in self.envelopes:
            for line in raw.splitlines():
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def events(self) -> list[dict[str, Any]]:
        return [i for i in self.items() if "exception" in i or "logentry" in i or "message" in i]


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, Captured]]:
    captured = Captured()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            assert encoding in ("", "gzip", "deflate"), encoding
            captured.paths.append(self.path)
            captured.envelopes.append(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey0123@127.0.0.1:{server.server_address[1]}/42", captured
    finally:
        server.shutdown()
        server.server_close()
        sentry_sdk.get_client().close()


async def test_no_secret_or_personal_data_reaches_sentry(
    sentry_server: tuple[str, Captured], tmp_path: Path
) -> None:
    dsn, captured = sentry_server
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}",
        SECRET_KEY=TEST_SECRET,
        SENTRY_DSN=dsn,
        OPENAI_API_KEY=OPENAI_KEY,
        MONGODB_URL=f"mongodb://svc:{DB_PASSWORD}@127.0.0.1:1/bayit",
    )
    app = create_app(settings, migrate=False)
    log = logging.getLogger("bayit.test.leaky")

    async def leaky(request: Request, user: UserDep) -> None:
        """A handler written carelessly: its locals, logs and exception all hold the user's secrets."""
        authorization = request.headers["authorization"]
        body = await request.body()
        log.info("handling %s for %s with %s", request.url, user.email, authorization)  # a breadcrumb
        log.error("about to fail for %s", user.email, extra={"email": user.email, "auth": authorization})
        raise RuntimeError(
            f"failed for {user.email} ({authorization}) body={body!r} key={settings.SECRET_KEY}"
        )

    app.add_api_route("/api/v1/leaky", leaky, methods=["GET", "POST"])
    await upgrade(app.state.db.engine)
    await seed(app.state.db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bayit.test") as client:
            r = await client.post(
                "/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD, "display_name": "Leaky"}
            )
            assert r.status_code == 201
            login = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
            token = login.json()["access_token"]
            headers = {
                "Authorization": f"Bearer {token}",
                "Cookie": f"session={token}",
                "X-Api-Key": PASSWORD,
            }
            get = await client.get(f"/api/v1/leaky?token={token}&email={EMAIL}", headers=headers)
            post = await client.post(
                "/api/v1/leaky", json={"password": PASSWORD, "email": EMAIL, "token": token}, headers=headers
            )
            assert get.status_code == post.status_code == 500
    finally:
        await app.state.db.dispose()
    sentry_sdk.flush(timeout=10)

    assert captured.paths and all(p == "/api/42/envelope/" for p in captured.paths)
    events = captured.events()
    exceptions = [e for e in events if "exception" in e]
    assert len(exceptions) >= 2, "both failing requests reach Sentry"
    assert exceptions[0]["exception"]["values"][-1]["type"] == "RuntimeError"
    assert any(e.get("logentry") or e.get("message") for e in events), "the error log reaches Sentry"
    raw = b"\n".join(captured.envelopes).decode()
    for secret in (token, PASSWORD, EMAIL, "leaky.user", TEST_SECRET, OPENAI_KEY, DB_PASSWORD):
        assert secret not in raw, f"{secret[:6]}... reached Sentry"
    for event in exceptions:
        for value in event["exception"]["values"]:
            for frame in (value.get("stacktrace") or {}).get("frames", []):
                assert "vars" not in frame
        request = event.get("request", {})
        assert "data" not in request and "cookies" not in request and "query_string" not in request
        assert set(request.get("headers", {})) <= {
            "host",
            "user-agent",
            "accept",
            "accept-encoding",
            "content-length",
            "content-type",
            "x-correlation-id",
        }


def test_scrubber_patterns_and_key_names() -> None:
    scrubber = Scrubber(["s3cr3t-value-planted"])
    event = {
        "message": "user bob@example.com sent Bearer abc.def-ghi and s3cr3t-value-planted",
        "extra": {"password": "p", "api_key": "k", "note": "eyJhbGciOi.eyJzdWIiOiIx.c2ln", "count": 3},
        "breadcrumbs": {"values": [{"message": "postgresql://u:pw@db/x", "data": {"q": "x"}}]},
        "user": {"id": 7, "email": "bob@example.com", "ip_address": "1.2.3.4"},
    }
    out = scrubber.event(event)
    text = json.dumps(out)
    for leaked in (
        "bob@example.com",
        "abc.def-ghi",
        "s3cr3t-value-planted",
        "eyJhbGciOi",
        ":pw@",
        '"p"',
        '"k"',
    ):
        assert leaked not in text
    assert out["extra"]["count"] == 3
    assert out["user"] == {"id": 7}
    assert "data" not in out["breadcrumbs"]["values"][0]
