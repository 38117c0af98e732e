"""MongoDB cannot be installed here: the failure paths run against the real driver, the success and
authentication paths against a stand-in client (documented in docs/architecture.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from keel.health.base import Outcome, Status
from keel.health.checks import MongoCheck
from keel.health.checks.mongodb import _reason
from keel.health.registry import Health, HealthConfig
from tests.keel.health.servers import free_port, silent_listener

USER, PASSWORD = "mongo_planted_user", "Mongo-Planted-Secret-77"


def planted(host_part: str) -> str:
    return f"mongodb://{USER}:{PASSWORD}@{host_part}/bayit?authSource=admin"


async def probe(url: str, caplog: pytest.LogCaptureFixture, timeout: float = 0.5) -> str:
    health = Health(HealthConfig(deep_deadline=10)).add(
        MongoCheck(url, server_selection_timeout=timeout), critical=True, timeout=5
    )
    started = time.monotonic()
    report = await health.deep()
    assert time.monotonic() - started < 5
    await health.stop()
    result = report.results[0]
    assert result.status is Status.UNHEALTHY
    for leaked in (USER, PASSWORD, url):
        assert leaked not in result.message
        assert all(leaked not in m for m in caplog.messages)
    return result.message


async def test_connection_refused(caplog: pytest.LogCaptureFixture) -> None:
    message = await probe(planted(f"127.0.0.1:{free_port()}"), caplog)
    assert message == "server selection failed within 0.5 s: connection refused"


async def test_unreachable_socket(caplog: pytest.LogCaptureFixture) -> None:
    message = await probe(planted("%2Ftmp%2Fkeel-no-such-mongo.sock"), caplog)
    assert message == "server selection failed within 0.5 s: unreachable"


async def test_server_that_never_answers_times_out(caplog: pytest.LogCaptureFixture) -> None:
    async with silent_listener() as port:
        message = await probe(planted(f"127.0.0.1:{port}"), caplog)
    assert message == "server selection failed within 0.5 s: timed out"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("localhost:1: [Errno 111] Connection refused", "connection refused"),
        ("h:1: timed out", "timed out"),
        ("h:1: [Errno 111] Connect call failed, Timeout: 0.5s", "connection refused"),
        ("[Errno 2] No such file or directory", "unreachable"),
        ("[Errno 101] Network is unreachable", "unreachable"),
        ("[Errno -2] Name or service not known", "host name does not resolve"),
        ("nodename nor servname provided", "host name does not resolve"),
        ("No servers found yet, Timeout: 0.5s", "timed out"),
        ("something else", "no server available"),
    ],
)
def test_reasons(text: str, reason: str) -> None:
    assert _reason(text) == reason


class StandInAdmin:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    async def command(self, name: str) -> dict[str, Any]:
        assert name == "ping"
        if self.error:
            raise self.error
        return {"ok": 1.0}


class StandInClient:
    def __init__(self, error: Exception | None = None) -> None:
        self.admin = StandInAdmin(error)
        self.closed = False

    async def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("error", "outcome", "message"),
    [
        (None, Outcome.OK, "ping ok"),
        (
            OperationFailure("auth failed", code=18),
            Outcome.MISCONFIGURED,
            "authentication failed: configuration fault",
        ),
        (
            OperationFailure("not authorized", code=13),
            Outcome.MISCONFIGURED,
            "authentication failed: configuration fault",
        ),
        (OperationFailure("interrupted", code=11601), Outcome.FAILED, "ping failed (code 11601)"),
    ],
)
async def test_answers_from_a_stand_in_client(
    error: Exception | None, outcome: Outcome, message: str
) -> None:
    check = MongoCheck(planted("127.0.0.1:1"))
    client = StandInClient(error)
    check._client = client
    observation = await check.probe()
    assert (observation.outcome, observation.message) == (outcome, message)
    await check.aclose()
    assert client.closed
    await check.aclose()
