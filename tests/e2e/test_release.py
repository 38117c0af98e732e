"""Releases of the real Bayit+ API on the real local platform, under steady load, through the keel CLI.

One environment for the module (its first release is the baseline); each test releases a candidate. The
load runs throughout: no request may fail because of a traffic change or a rollback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.support import (
    ENV,
    Load,
    assert_on_one_healthy_revision,
    deploy,
    free_port,
    keel,
    write_project,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Env:
    directory: Path
    port: int
    load: Load
    serving: str


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    directory = tmp_path_factory.mktemp("e2e-release")
    port = free_port()
    write_project(directory, port)
    try:
        code, first, stderr = deploy(directory, "RELEASE=1")
        assert code == 0, stderr
        assert first["first_deploy"] and "no rollback target" in stderr
        load = Load(f"http://127.0.0.1:{port}").start()
        yield Env(directory, port, load, first["revision"])
        load.stop()
    finally:
        keel("down", "--env", ENV, cwd=directory)


def no_traffic_moved(data: dict[str, object]) -> bool:
    return not any(t["to"] == "shifting" for t in data["transitions"])  # type: ignore[attr-defined, index]


def test_a_good_release_is_promoted_through_the_canary(env: Env) -> None:
    code, data, stderr = deploy(env.directory, "RELEASE=2")
    assert code == 0, stderr
    assert data["phase"] == "promoted" and data["previous"] == env.serving
    assert [t["to"] for t in data["transitions"]].count("holding") == 3
    assert any(v["outcome"] == "pass" for v in data["verdicts"])
    env.serving = assert_on_one_healthy_revision(env.directory, data["revision"])
    assert env.load.unexpected() == {}


def test_a_revision_that_crashes_at_start_fails_the_health_gate(env: Env) -> None:
    code, data, _ = deploy(env.directory, "BAYIT_FAULT_CRASH_AT_START=1")
    assert code == 1
    assert data["phase"] == "failed" and data["failed_by"] == "health"
    assert "exited during start-up" in data["reason"] or "not ready" in data["reason"]
    assert no_traffic_moved(data)
    assert_on_one_healthy_revision(env.directory, env.serving)


def test_users_me_without_a_token_fails_the_smoke_gate(env: Env) -> None:
    spec = env.directory / "keel.yaml"
    original = spec.read_text()
    # the project's real smoke suite (keel.smoke), not the inline checks
    start, end = original.index("  smoke:"), original.index("strategy:")
    spec.write_text(original[:start] + f"  smoke: {ROOT / 'smoke.yaml'}\n" + original[end:])
    try:
        code, data, _ = deploy(env.directory, "BAYIT_FAULT_AUTH_BYPASS=1")
    finally:
        spec.write_text(original)
    assert code == 1, data
    assert data["phase"] == "failed" and data["failed_by"] == "smoke"
    assert "me-without-token" in data["reason"]
    assert no_traffic_moved(data)
    assert_on_one_healthy_revision(env.directory, env.serving)


def test_five_percent_server_errors_fail_analysis_at_ten_percent(env: Env) -> None:
    code, data, stderr = deploy(env.directory, "BAYIT_FAULT_ERROR_RATE=0.05")
    assert code == 1, stderr
    assert data["phase"] == "rolled_back" and data["failed_by"] == "analysis", data["cause"]
    assert data["cause"].startswith("analysis failed at 10%")
    assert data["rollback"]["target"] == env.serving and data["rollback"]["verified"]
    assert_on_one_healthy_revision(env.directory, env.serving)
    assert env.load.unexpected() == {}


def test_three_hundred_ms_of_added_latency_is_rolled_back(env: Env) -> None:
    code, data, stderr = deploy(env.directory, "BAYIT_FAULT_LATENCY_MS=300")
    assert code == 1, stderr
    assert data["phase"] == "rolled_back" and data["failed_by"] == "analysis", data["cause"]
    assert data["rollback"]["seconds_from_failure_to_switch"] < 1.0
    assert_on_one_healthy_revision(env.directory, env.serving)


def test_no_request_failed_because_of_a_traffic_change(env: Env) -> None:
    outcomes = dict(env.load.outcomes)
    assert outcomes.get("ok", 0) > 500, outcomes
    assert env.load.unexpected() == {}, outcomes
