"""keel status: the local router's recent traffic per revision, and a Cloud Run environment read from the
platform (the emulator) and the store."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from typing import Any, cast

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.cli.status import RECENT_SLICES, recent_traffic
from tests.keel.cli.releases import keel

BOUNDS = (0.01, 0.1, math.inf)


class Router:
    """Answers windows like the daemon: ``new`` served 10 requests a second, 1 in 10 failed, only in the last
    minute; ``old`` served nothing."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.calls: list[tuple[str, float, float]] = []

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        self.calls.append((revision, start, end))
        busy = revision == "new" and start >= self.now - 60.0
        requests = round((end - start) * 10) if busy else 0
        latency = LatencyHistogram(BOUNDS, (0, requests, 0))
        return RevisionWindow(revision, start, end, requests, requests // 10, latency)


async def test_recent_traffic_slices_the_last_minutes() -> None:
    router = Router(now=1000.0)
    rows = await recent_traffic(cast(Any, router), ["new", "old"], now=1000.0, minutes=5.0)
    assert len(router.calls) == 2 * RECENT_SLICES
    assert router.calls[0][1] == 700.0 and router.calls[RECENT_SLICES - 1][2] == 1000.0
    new, old = rows
    assert new["revision"] == "new" and len(new["rps"]) == RECENT_SLICES
    assert new["rps"][-1] == 10.0 and new["rps"][0] == 0.0
    assert new["error_rate"][-1] == 0.1 and new["error_rate"][0] is None  # no requests: no rate
    assert math.isclose(new["p95_ms"][-1], 95.5) and new["p95_ms"][0] is None  # 10-100 ms bucket
    assert old["rps"] == [0.0] * RECENT_SLICES and set(old["p95_ms"]) == {None}


def _cloud_project(directory: Path, endpoint: str) -> None:
    (directory / "keel.yaml").write_text(
        "service: svc\nenvironments:\n  cloud:\n    platform: cloudrun\n    project: p\n    region: us-east1\n"
        f"    service: svc\n    image: app:1\n    api_endpoint: {endpoint}\n"
    )


def test_status_of_a_cloud_run_environment_before_its_first_release(tmp_path: Path) -> None:
    from keel.emulators.cloudrun.config import EmulatorConfig
    from keel.emulators.cloudrun.server import running

    with running(EmulatorConfig(state_dir=str(tmp_path / "emulator"))) as emulator:
        _cloud_project(tmp_path, emulator.url)
        proc = keel("status", "--env", "cloud", "--format", "json", cwd=tmp_path, timeout=60)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["traffic"] == {} and data["revisions"] == [] and data["recent"] == []
        table = keel("status", "--env", "cloud", cwd=tmp_path, timeout=60)
        assert table.returncode == 0, table.stderr
        assert "svc (cloud) on cloudrun: serving no traffic" in table.stdout
        assert "no revisions yet: release one with keel deploy --env cloud" in table.stdout


def test_status_of_an_unreachable_cloud_run_fails_naming_the_service(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _cloud_project(tmp_path, f"http://127.0.0.1:{port}")
    proc = keel("status", "--env", "cloud", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "Cloud Run service svc (p/us-east1): get service" in proc.stderr
    assert "Traceback" not in proc.stderr
