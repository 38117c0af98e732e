"""GCS: the real google-cloud-storage client against gcp-storage-emulator and loopback look-alikes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from keel.health.base import Outcome, Status
from keel.health.checks import GcsCheck
from keel.health.checks.blocking import StillRunning
from keel.health.registry import Health, HealthConfig
from keel.types import Receive, Scope, Send
from tests.keel.health.servers import gcs_emulator, serve, silent_listener


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with gcs_emulator() as url:
        yield url


@pytest.fixture
def media_bucket(emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator)
    from google.cloud import storage

    client = storage.Client(project="bayit-test")
    name = f"media-{time.monotonic_ns()}"
    client.create_bucket(name)
    return name


def test_a_bucket_name_is_required() -> None:
    with pytest.raises(ValueError, match="bucket"):
        GcsCheck("")


async def test_existing_bucket_is_healthy(media_bucket: str) -> None:
    check = GcsCheck(media_bucket, project="bayit-test")
    assert check.component_type == "datastore"
    observation = await check.probe()
    assert (observation.outcome, observation.message) == (Outcome.OK, "bucket metadata read")
    assert (await check.probe()).outcome is Outcome.OK  # the client is reused


async def test_missing_bucket_is_loud(media_bucket: str) -> None:
    health = Health(HealthConfig(app="svc")).add(
        GcsCheck("no-such-bucket", project="bayit-test"), critical=True
    )
    report = await health.deep()
    assert (report.status, report.http_status) == (Status.UNHEALTHY, 503)
    assert report.results[0].message == "bucket not found (HTTP 404)"


async def forbidden(scope: Scope, receive: Receive, send: Send) -> None:
    body = b'{"error": {"code": 403, "message": "svc@bayit.iam does not have storage.buckets.get access"}}'
    await send(
        {"type": "http.response.start", "status": 403, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


async def test_refused_access_is_a_configuration_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve(forbidden) as url:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
        observation = await GcsCheck("media", project="bayit-test").probe()
    assert observation.outcome is Outcome.MISCONFIGURED
    assert observation.message == "access to the bucket refused (HTTP 403): configuration fault"


async def test_a_hung_call_fails_fast_and_is_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    async with silent_listener() as port:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        health = Health().add(
            GcsCheck("media", project="bayit-test", request_timeout=1.5), critical=True, timeout=0.3
        )
        first = (await health.deep()).results[0]
        assert (first.status, first.message) == (Status.UNHEALTHY, "timed out after 0.3 s")
        await asyncio.sleep(0)
        health_again = health.latest()["gcs"]
        assert health_again is first
        second = await health._runners[0].get(0.0)
        assert second.message == f"{StillRunning.__name__}: previous call has not returned yet"
        await asyncio.sleep(2.0)  # the worker thread gives up after its own request timeout
        third = await health._runners[0].get(0.0)
        assert "StillRunning" not in third.message
