"""Readiness probes of ``keel status`` and the status of a platform that is not running."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from keel.platforms.local import LocalPlatform
from keel.platforms.local.status import Health, collect_status, probe_readiness
from tests.keel.platforms.local.conftest import APP_COMMAND, InProcessRevision, free_port

StartRevision = Callable[..., Awaitable[InProcessRevision]]


async def test_readiness_probe_outcomes(revisions: StartRevision) -> None:
    a = await revisions("a")
    url = f"http://127.0.0.1:{a.port}"
    ready = await probe_readiness(url, "/health/ready", 3)
    assert ready.health is Health.READY and ready.detail == "/health/ready: 200"
    failing = await probe_readiness(url, "/fail", 3)
    assert failing.health is Health.NOT_READY and "503" in failing.detail
    no_endpoint = await probe_readiness(url, "/no-such-readiness", 3)
    assert no_endpoint.health is Health.LISTENING
    down = await probe_readiness(f"http://127.0.0.1:{free_port()}", "/health/ready", 3)
    assert down.health is Health.DOWN


async def test_status_of_a_platform_that_is_not_running(tmp_path: Path) -> None:
    platform = LocalPlatform("svc", "test", APP_COMMAND, free_port(), tmp_path / "state", auto_start=False)
    status = await collect_status(platform, "/health/ready")
    assert not status.running
    data = status.to_json()
    assert (data["running"], data["revisions"], data["traffic"], data["platform"]) == (False, [], {}, "local")
    assert not (tmp_path / "state" / "daemon.json").exists()  # asking never starts a daemon
