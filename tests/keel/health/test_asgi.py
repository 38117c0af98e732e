from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from keel.health.access import DetailsAccess
from keel.health.asgi import HealthMiddleware
from keel.health.checks import HttpCheck
from keel.health.registry import Health, HealthConfig, HealthPaths
from keel.types import Message, Receive, Scope, Send
from tests.keel.health.fakes import FAILED, ScriptedCheck
from tests.keel.health.servers import serve, silent_listener


async def downstream(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"app:" + scope["path"].encode()})


def make_health(**config: Any) -> Health:
    health = Health(HealthConfig(app="svc", **config))
    health.add(ScriptedCheck("database"), critical=True)
    health.add(ScriptedCheck("openai", FAILED, readiness_allowed=False))
    return health


@pytest.fixture
def health() -> Health:
    return make_health(access=DetailsAccess(token="probe-token-123", header="X-Health-Token"))


@pytest.fixture
async def client(health: Health) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=HealthMiddleware(downstream, health))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as c:
        yield c


async def test_liveness_endpoints(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert (r.status_code, r.json()) == (200, {"status": "healthy", "app": "svc"})
    assert r.headers["cache-control"] == "no-store"
    r = await client.get("/health/live")
    assert (r.status_code, r.json()) == (200, {"status": "healthy", "app": "svc", "check": "liveness"})
    r = await client.get("/health/live", headers={"accept": "application/health+json"})
    assert r.headers["content-type"] == "application/health+json"
    assert r.json()["status"] == "pass"
    r = await client.get("/health", headers={"accept": "application/health+json"})
    assert r.json()["status"] == "pass"
    r = await client.head("/health/live")
    assert (r.status_code, r.content) == (200, b"")
    assert int(r.headers["content-length"]) > 0


async def test_startup_and_ready_are_503_until_started(client: httpx.AsyncClient, health: Health) -> None:
    assert (await client.get("/health/startup")).status_code == 503
    r = await client.get("/health/ready")
    assert (r.status_code, r.json()["message"]) == (503, "starting")
    health.mark_started()
    assert (await client.get("/health/startup")).status_code == 200
    r = await client.get("/health/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "healthy"}  # the paid API never runs on readiness
    r = await client.head("/health/ready")
    assert (r.status_code, r.content) == (200, b"")


async def test_deep_shows_details_only_with_the_token(client: httpx.AsyncClient) -> None:
    public = await client.get("/health/deep")
    assert public.status_code == 200
    body = public.json()
    assert body["status"] == "degraded"
    assert body["summary"] == {"total": 2, "healthy": 1, "degraded": 1, "unhealthy": 0, "disabled": 0}
    assert "services" not in body
    wrong = await client.get("/health/deep", headers={"X-Health-Token": "guess"})
    assert "services" not in wrong.json()
    private = await client.get("/health/deep", headers={"X-Health-Token": "probe-token-123"})
    services = private.json()["services"]
    assert services["openai"] == {
        "status": "degraded",
        "latency_ms": services["openai"]["latency_ms"],
        "message": "down",
        "critical": False,
    }
    ietf = await client.get(
        "/health/deep", headers={"X-Health-Token": "probe-token-123", "Accept": "application/health+json"}
    )
    assert ietf.headers["content-type"] == "application/health+json"
    assert set(ietf.json()["checks"]) == {"database:responseTime", "openai:responseTime"}


async def test_everything_else_passes_through(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/content")
    assert (r.status_code, r.text) == (200, "app:/api/v1/content")
    r = await client.get("/healthz")
    assert r.text == "app:/healthz"


async def test_other_methods_are_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/health/ready")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"


async def test_paths_are_configurable_and_without_an_app_the_rest_is_404() -> None:
    health = Health(
        HealthConfig(paths=HealthPaths(live="/livez", ready="/readyz", health="/h", startup="/s", deep="/d"))
    )
    transport = httpx.ASGITransport(app=HealthMiddleware(None, health))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as c:
        assert (await c.get("/livez")).status_code == 200
        assert (await c.get("/readyz")).status_code == 503
        assert (await c.get("/health/live")).status_code == 404


async def drive_lifespan(app: Any) -> list[str]:
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    sent: list[str] = []
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        incoming.put_nowait({"type": kind})

    async def receive() -> Message:
        return await incoming.get()

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent


async def test_lifespan_starts_and_stops_health_around_the_app() -> None:
    check = ScriptedCheck("db")
    health = Health(HealthConfig(refresh_interval=60)).add(check)
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "lifespan.startup":
                await asyncio.sleep(0.05)  # the background refresh runs meanwhile
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    sent = await drive_lifespan(HealthMiddleware(app, health))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == ["lifespan.startup", "lifespan.shutdown"]
    assert check.calls >= 1
    assert check.closed


async def test_lifespan_without_an_app_is_answered_by_the_middleware() -> None:
    check = ScriptedCheck("db")
    sent = await drive_lifespan(HealthMiddleware(None, Health().add(check)))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert check.closed


async def test_websockets_pass_through() -> None:
    calls: list[str] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["type"])

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/health"}
    await HealthMiddleware(app, Health())(scope, None, send)  # type: ignore[arg-type]
    assert calls == ["websocket"]
    await HealthMiddleware(None, Health())(scope, None, send)  # type: ignore[arg-type]
    assert sent == []  # standalone: a websocket is not accepted, and never sent an HTTP response


async def test_a_dependency_that_never_answers_cannot_hold_deep_past_its_deadline() -> None:
    deadline = 0.5
    async with silent_listener() as port:
        health = Health(HealthConfig(app="svc", deep_deadline=deadline))
        health.add(HttpCheck(f"http://127.0.0.1:{port}/status", name="silent"), timeout=30)
        health.add(ScriptedCheck("database"), critical=True)
        async with serve(HealthMiddleware(None, health), lifespan="on") as url, httpx.AsyncClient() as client:
            for _ in range(3):
                started = time.monotonic()
                r = await client.get(f"{url}/health/deep", headers={"X-Health-Token": "none"})
                elapsed = time.monotonic() - started
                assert r.status_code == 200  # the hanging dependency is optional
                assert r.json()["summary"]["degraded"] == 1
                assert elapsed <= deadline + 2.0, elapsed  # not the check's 30 s (slack: loaded machines)
            r = await client.get(f"{url}/health/live")
            assert r.status_code == 200


async def test_cached_ready_serves_many_concurrent_probes_with_one_probe() -> None:
    check = ScriptedCheck("database", delay=0.05)
    health = Health(HealthConfig(ready_ttl=30)).add(check, critical=True)
    health.mark_started()
    transport = httpx.ASGITransport(app=HealthMiddleware(None, health))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as c:
        responses = await asyncio.gather(*(c.get("/health/ready") for _ in range(200)))
    assert {r.status_code for r in responses} == {200}
    assert check.calls == 1
    assert json.loads(responses[0].content)["checks"] == {"database": "healthy"}


async def test_raw_asgi_request_without_accept_header_gets_plain_json() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/health/startup", "headers": []}
    await HealthMiddleware(None, Health(HealthConfig(app="svc")))(scope, None, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 503
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["check"] == "startup"
