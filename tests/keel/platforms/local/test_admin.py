"""The admin API in-process: token, input validation and error codes (no revision processes needed)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from keel.platforms.local.admin import admin_app
from keel.platforms.local.daemon import Daemon
from keel.platforms.local.state import StateDir

TOKEN = "t0ken"


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[tuple[Daemon, httpx.AsyncClient]]:
    state = StateDir(tmp_path)
    state.ensure()
    daemon = Daemon(state, service="svc", env_name="test")
    transport = httpx.ASGITransport(app=admin_app(daemon, TOKEN))
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://admin", headers=headers) as client:
        yield daemon, client


async def test_token_is_required(admin: tuple[Daemon, httpx.AsyncClient]) -> None:
    _, client = admin
    assert (await client.get("/v1/daemon", headers={"authorization": "Bearer wrong"})).status_code == 401
    answer = await client.get("/v1/daemon")
    assert answer.status_code == 200 and answer.json()["service"] == "svc"


async def test_bad_input_is_refused_with_a_reason(admin: tuple[Daemon, httpx.AsyncClient]) -> None:
    _, client = admin
    cases = [
        ("POST", "/v1/revisions", {"name": "r1", "command": "not-a-list"}, 400, "command must be a list"),
        ("POST", "/v1/revisions", {"name": "r1", "command": ["x"], "env": {"A": 1}}, 400, "env must map"),
        ("POST", "/v1/revisions", {"name": "../x", "command": ["x"]}, 400, "not valid"),
        ("PUT", "/v1/traffic", {"weights": {"r1": "100"}}, 400, "integers"),
        ("PUT", "/v1/traffic", {"weights": {"r1": 100}}, 404, "no revision r1"),
        ("DELETE", "/v1/revisions/r1", None, 404, "no revision r1"),
    ]
    for method, path, body, status, message in cases:
        answer = await client.request(method, path, json=body)
        assert answer.status_code == status, (path, body, answer.text)
        assert message in answer.json()["error"]
    not_json = await client.put("/v1/traffic", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400


async def test_metrics_window_and_traffic(admin: tuple[Daemon, httpx.AsyncClient]) -> None:
    daemon, client = admin
    daemon.metrics.record("r1", 200, 0.01)
    daemon.metrics.record("r1", 500, 0.02)
    now = time.time()
    window = (await client.get("/v1/metrics/r1", params={"start": now - 5, "end": now + 1})).json()
    assert (window["requests"], window["errors"], window["latency"]["bounds"][-1]) == (2, 1, "+Inf")
    assert (await client.get("/v1/metrics/r1")).status_code == 400
    totals = (await client.get("/v1/metrics")).json()["revisions"]
    assert totals == [{"revision": "r1", "requests": 2, "errors": 1, "statuses": {"200": 1, "500": 1}}]
    assert (await client.get("/v1/traffic")).json() == {"weights": {}}


async def test_shutdown_sets_the_stop_event(admin: tuple[Daemon, httpx.AsyncClient]) -> None:
    daemon, client = admin
    assert (await client.post("/v1/shutdown", json={"forget": False})).status_code == 202
    assert daemon.stopped.is_set() and not daemon.forget_on_stop
