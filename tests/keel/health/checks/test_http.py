from __future__ import annotations

import socket

import pytest

from keel.health.base import Outcome, Status
from keel.health.checks import HttpCheck
from keel.health.checks.http import classify
from keel.health.registry import Health
from keel.types import Receive, Scope, Send
from tests.keel.health.servers import free_port, serve


async def status_app(scope: Scope, receive: Receive, send: Send) -> None:
    code = int(scope["path"].strip("/") or 200)
    headers = dict(scope["headers"])
    if headers.get(b"authorization") not in (None, b"Bearer internal-token-xyz"):
        code = 401
    await send({"type": "http.response.start", "status": code, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (200, Outcome.OK),
        (204, Outcome.OK),
        (401, Outcome.MISCONFIGURED),
        (403, Outcome.MISCONFIGURED),
        (429, Outcome.DEGRADED),
        (500, Outcome.FAILED),
        (302, Outcome.FAILED),
    ],
)
def test_classify(code: int, outcome: Outcome) -> None:
    assert classify(code).outcome is outcome


async def test_generic_http_check_against_a_local_server() -> None:
    async with serve(status_app) as url:
        ok = HttpCheck(f"{url}/200", headers={"Authorization": "Bearer internal-token-xyz"})
        assert (await ok.probe()).message == "HTTP 200"
        assert (await HttpCheck(f"{url}/302").probe()).outcome is Outcome.OK  # 3xx accepted by default
        strict = HttpCheck(f"{url}/302", accepted=range(200, 300), name="strict", component_type="system")
        assert (await strict.probe()).message == "unexpected HTTP 302"
        assert (await HttpCheck(f"{url}/503").probe()).outcome is Outcome.FAILED
        assert "internal-token-xyz" in set(ok.secrets())
        await ok.aclose()


async def test_refused_connection_hides_internal_hosts() -> None:
    host = socket.gethostname()  # a host name that resolves locally (/etc/hosts), never through DNS
    url = f"http://{host}:{free_port()}/status"
    report = await Health().add(HttpCheck(url, name="billing"), critical=True, timeout=5).deep()
    result = report.results[0]
    assert result.status is Status.UNHEALTHY
    assert result.message.startswith("ConnectError")
    assert host not in result.message
