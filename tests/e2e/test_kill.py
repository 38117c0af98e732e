"""kill -9 of keel deploy in the middle of a release, then --resume or keel rollback: every case ends with all
traffic on one healthy revision, and the steady load never sees a request fail."""

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
    kill9,
    result,
    start_deploy,
    status,
    wait_for_phase,
    write_project,
)

pytestmark = pytest.mark.slow


@dataclass
class Env:
    directory: Path
    load: Load
    serving: str


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    directory = tmp_path_factory.mktemp("e2e-kill")
    port = free_port()
    write_project(directory, port)
    try:
        code, first, stderr = deploy(directory, "RELEASE=1")
        assert code == 0, stderr
        load = Load(f"http://127.0.0.1:{port}").start()
        yield Env(directory, load, first["revision"])
        load.stop()
        assert load.unexpected() == {}, load.outcomes
    finally:
        keel("down", "--env", ENV, cwd=directory)


def resume(env: Env) -> dict[str, object]:
    proc = keel("deploy", "--env", ENV, "--resume", "--format", "json", cwd=env.directory, timeout=180)
    data = result(proc)
    assert proc.returncode == 0, proc.stderr
    assert data["phase"] == "promoted"
    assert "Rollout resumed: resumed; traffic on the platform: " in proc.stderr
    return data


def roll_back(env: Env) -> dict[str, object]:
    proc = keel("rollback", "--env", ENV, "--yes", "--format", "json", cwd=env.directory, timeout=180)
    data = result(proc)
    assert proc.returncode == 0, proc.stderr
    return data


def test_killed_in_the_health_gate_then_resumed(env: Env) -> None:
    proc = start_deploy(env.directory, "RELEASE=2")
    state = wait_for_phase(env.directory, "health_gate")
    kill9(proc)
    refused = keel("deploy", "--env", ENV, cwd=env.directory)
    assert refused.returncode == 3 and "did not finish" in refused.stderr and "--resume" in refused.stderr
    data = resume(env)
    assert data["revision"] == state["revision"]
    env.serving = assert_on_one_healthy_revision(env.directory, state["revision"])


def test_killed_in_the_smoke_gate_then_rolled_back(env: Env) -> None:
    proc = start_deploy(
        env.directory, "BAYIT_FAULT_LATENCY_MS=1500"
    )  # slow answers: the smoke gate takes a while
    state = wait_for_phase(env.directory, "smoke_gate")
    kill9(proc)
    data = roll_back(env)
    assert data["action"] == "undo_interrupted" and data["phase"] == "failed"
    assert_on_one_healthy_revision(env.directory, env.serving)
    assert state["revision"] not in [r["name"] for r in status(env.directory)["revisions"]]


def test_killed_while_holding_at_ten_percent_then_resumed(env: Env) -> None:
    proc = start_deploy(env.directory, "RELEASE=3")
    state = wait_for_phase(env.directory, "holding", step=0)
    assert status(env.directory)["traffic"] == {env.serving: 90, state["revision"]: 10}
    kill9(proc)
    assert status(env.directory)["traffic"] == {env.serving: 90, state["revision"]: 10}  # split, on record
    resume(env)
    env.serving = assert_on_one_healthy_revision(env.directory, state["revision"])


def test_killed_while_holding_at_fifty_percent_then_rolled_back(env: Env) -> None:
    proc = start_deploy(env.directory, "RELEASE=4")
    state = wait_for_phase(env.directory, "holding", step=1)
    kill9(proc)
    data = roll_back(env)
    assert data["phase"] == "rolled_back" and data["rollback"]["target"] == env.serving  # type: ignore[index]
    assert_on_one_healthy_revision(env.directory, env.serving)
    again = keel("rollback", "--env", ENV, "--yes", "--revision", state["revision"], cwd=env.directory)
    assert again.returncode == 2 and "aborted during its own release" in again.stderr
