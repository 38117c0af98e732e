"""Releases of the real Bayit+ API on the Cloud Run emulator, through the keel CLI, judged on the emulated
Cloud Monitoring (points arriving late), under steady load: no request may fail because of a traffic change."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keel.emulators.cloudrun.config import EmulatorConfig
from keel.emulators.cloudrun.server import Emulator, running
from keel.platforms.cloudrun import CloudRunConfig, CloudRunPlatform
from tests.e2e.support import SMOKE_CHECKS, Load, result
from tests.keel.cli.releases import keel

pytestmark = pytest.mark.slow

ENV = "cloud"
SERVICE = "bayit-e2e"
BAYIT = (str(Path(sys.executable).parent / "bayit"), "serve", "--seed", "--host", "127.0.0.1")


@dataclass
class Project:
    directory: Path
    emulator: Emulator
    load: Load
    serving: str


def write_project(directory: Path, endpoint: str) -> None:
    (directory / "keel.yaml").write_text(
        f"""service: {SERVICE}
environments:
  {ENV}:
    platform: cloudrun
    project: bayit-plus
    region: us-east1
    service: {SERVICE}
    image: bayit:1
    api_endpoint: {endpoint}
    env: {{ENVIRONMENT: development, LOG_LEVEL: WARNING}}
    secrets: {{DATABASE_URL: "bayit-database-url:latest", SECRET_KEY: "bayit-secret-key:latest"}}
probes: {{startup: {{timeout: 2s, period: 2s, failure_threshold: 45}}}}
gates:
  health: {{path: /health/ready, passes: 2, deadline: 90s, interval: 0.5s}}
  smoke:
{SMOKE_CHECKS}
strategy:
  canary:
    steps: [{{weight: 10, hold: 8s}}, {{weight: 50, hold: 4s}}, {{weight: 100}}]
analysis:
  source: cloudmonitoring
  judge: thresholds
  interval: 1s
  min_requests: 30
  max_extra_hold: 20s
  thresholds: {{min_success_rate: 99%, max_p95: 250ms}}
  cloudmonitoring:
    project: bayit-plus
    service: {SERVICE}
    transport: rest
    api_endpoint: {endpoint}
    anonymous: true
    ingestion_delay: 2s
rollback: {{passes: 2, deadline: 30s, interval: 0.25s}}
"""
    )


def deploy(directory: Path, *values: str) -> tuple[int, dict[str, object], str]:
    args = ["deploy", "--env", ENV, "--format", "json"]
    for value in values:
        args += ["--set", value]
    proc = keel(*args, cwd=directory, timeout=240)
    return proc.returncode, result(proc), proc.stderr


def traffic(project: Project) -> dict[str, int]:
    config = CloudRunConfig(platform="cloudrun", project="bayit-plus", region="us-east1", service=SERVICE,
                            api_endpoint=project.emulator.url)  # fmt: skip
    return dict(asyncio.run(CloudRunPlatform(config).traffic()).weights)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    directory = tmp_path_factory.mktemp("e2e-cloudrun")
    config = EmulatorConfig(
        images={"bayit:1": BAYIT},
        secrets={
            "bayit-database-url:latest": f"sqlite+aiosqlite:///{directory / 'bayit.db'}",
            "bayit-secret-key:latest": secrets.token_urlsafe(48),
        },
        ingestion_delay=2.0,
        state_dir=str(directory / "emulator"),
    )
    with running(config) as emulator:
        write_project(directory, emulator.url)
        code, first, stderr = deploy(directory, "RELEASE=1")
        assert code == 0, stderr
        assert first["first_deploy"]
        load = Load(emulator.runtime.service_url(SERVICE)).start()
        yield Project(directory, emulator, load, str(first["revision"]))
        load.stop()


def test_a_good_release_is_promoted_through_10_50_100_on_cloud_monitoring(project: Project) -> None:
    code, data, stderr = deploy(project.directory, "RELEASE=2")
    assert code == 0, stderr
    assert data["phase"] == "promoted" and data["previous"] == project.serving
    verdicts = data["verdicts"]
    assert any(v["outcome"] == "pass" for v in verdicts)  # type: ignore[union-attr]
    project.serving = str(data["revision"])
    assert traffic(project) == {project.serving: 100}
    assert project.load.unexpected() == {}


def test_three_hundred_ms_of_added_latency_is_rolled_back(project: Project) -> None:
    code, data, stderr = deploy(project.directory, "BAYIT_FAULT_LATENCY_MS=300")
    assert code == 1, stderr
    assert data["phase"] == "rolled_back" and data["failed_by"] == "analysis", data.get("cause")
    assert "p95" in str(data["cause"]), data["cause"]
    rollback = data["rollback"]
    assert rollback["target"] == project.serving and rollback["verified"]  # type: ignore[index]
    assert traffic(project) == {project.serving: 100}
    assert project.load.unexpected() == {}


def no_traffic_moved(data: dict[str, object]) -> bool:
    return not any(t["to"] == "shifting" for t in data["transitions"])  # type: ignore[attr-defined, index]


def test_a_revision_that_crashes_at_start_fails_the_health_gate_with_cloud_runs_reason(
    project: Project,
) -> None:
    code, data, stderr = deploy(project.directory, "BAYIT_FAULT_CRASH_AT_START=1")
    assert code == 1, stderr
    assert data["phase"] == "failed" and data["failed_by"] == "health", data
    assert "failed to start and listen on the port" in str(data["reason"])
    assert no_traffic_moved(data)
    assert traffic(project) == {project.serving: 100}


def test_a_smoke_gate_failure_moves_no_traffic(project: Project) -> None:
    code, data, _ = deploy(project.directory, "BAYIT_FAULT_AUTH_BYPASS=1")
    assert code == 1, data
    assert data["phase"] == "failed" and data["failed_by"] == "smoke", data
    assert no_traffic_moved(data)
    assert traffic(project) == {project.serving: 100}


def test_five_percent_server_errors_are_rolled_back(project: Project) -> None:
    code, data, stderr = deploy(project.directory, "BAYIT_FAULT_ERROR_RATE=0.05")
    assert code == 1, stderr
    assert data["phase"] == "rolled_back" and data["failed_by"] == "analysis", data.get("cause")
    assert traffic(project) == {project.serving: 100}
    assert project.load.unexpected() == {}


def test_no_request_failed_because_of_a_traffic_change(project: Project) -> None:
    outcomes = dict(project.load.outcomes)
    assert outcomes.get("ok", 0) > 300, outcomes
    assert project.load.unexpected() == {}, outcomes


def test_keel_status_shows_what_cloud_run_serves_and_what_keel_released(project: Project) -> None:
    proc = keel("status", "--env", ENV, "--format", "json", cwd=project.directory, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["schema"] == "keel.environment/v1"
    serving = traffic(project)
    assert data["traffic"] == serving and sum(serving.values()) == 100
    assert set(serving) <= set(data["revisions"])
    assert data["unfinished_rollout"] is None
    # the releases of this module, newest first: a promotion and the rollbacks after it
    phases = [r["phase"] for r in data["recent"]]
    assert "promoted" in phases and "rolled_back" in phases, phases
    assert all(c["revision"] not in serving for c in data["candidates"])
    table = keel("status", "--env", ENV, cwd=project.directory, timeout=60)
    assert table.returncode == 0, table.stderr
    (name,) = serving
    assert f"on cloudrun: serving {name} 100%" in table.stdout
    assert "traffic split" in table.stdout and "latest rollouts" in table.stdout
