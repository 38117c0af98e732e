"""keel deploy as a user runs it: a real CLI process, the real local platform, the tiny revision app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.store import LockInfo, Store
from tests.keel.cli.releases import Load, free_port, keel, result, write_spec

pytestmark = pytest.mark.slow

CANARY = "{canary: {steps: [{weight: 10, hold: 2s}, {weight: 50, hold: 1s}, {weight: 100}]}}"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = free_port()
    write_spec(tmp_path, port, CANARY)
    yield tmp_path, port
    keel("down", "--env", "local", cwd=tmp_path)


def test_first_release_then_a_canary_then_a_failing_one(project: tuple[Path, int], tmp_path: Path) -> None:
    directory, port = project
    summary = tmp_path / "summary.md"
    first = keel("deploy", "--format", "json", "--set", "REVISION=one", cwd=directory,
                 env={"GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    data = result(first)
    assert first.returncode == 0, first.stderr
    assert data["phase"] == "promoted" and data["first_deploy"] and data["previous"] is None
    assert "first deploy" in first.stderr and "no rollback target" in first.stderr
    assert "keel deploy: tiny → local: ✅ promoted" in summary.read_text()

    with Load(f"http://127.0.0.1:{port}") as load:
        good = keel("deploy", "--format", "json", "--set", "REVISION=two", cwd=directory)
        bad = keel(
            "deploy", "--format", "json", "--set", "REVISION=three", "--set", "ERROR_RATE=0.5", cwd=directory
        )
    good_data, bad_data = result(good), result(bad)
    assert good.returncode == 0, good.stderr
    assert good_data["previous"] == data["revision"]
    assert [s["weight"] for s in good_data["steps"]] == [10, 50, 100]
    assert any(v["outcome"] == "pass" for v in good_data["verdicts"]), good_data
    assert bad.returncode == 1, bad.stderr
    assert bad_data["phase"] == "rolled_back" and bad_data["failed_by"] == "analysis", bad_data["verdicts"]
    assert bad_data["cause"].startswith("analysis failed at 10%")
    assert bad_data["rollback"]["target"] == good_data["revision"] and bad_data["rollback"]["verified"]
    # no request failed for the change itself: the only errors are the bad canary's own 500s
    assert set(load.outcomes) <= {"200", "500"}, load.outcomes

    status = keel("status", "--format", "json", cwd=directory)
    assert '"' + good_data["revision"] + '"' in status.stdout


def test_crash_at_start_fails_the_health_gate_and_no_traffic_moves(project: tuple[Path, int]) -> None:
    directory, _ = project
    assert keel("deploy", "--format", "json", cwd=directory).returncode == 0
    crash = keel("deploy", "--format", "json", "--set", "CRASH_AT_START=1", cwd=directory)
    data = result(crash)
    assert crash.returncode == 1
    assert data["phase"] == "failed" and data["failed_by"] == "health"
    assert "no traffic was moved" in data["reason"]
    assert not any(t["to"] == "shifting" for t in data["transitions"])


def test_bad_spec_is_refused_before_anything_starts(tmp_path: Path) -> None:
    write_spec(tmp_path, free_port(), "{canary: {steps: [{weight: 10, hold: 1s}, {weight: 60}]}}")
    proc = keel("deploy", cwd=tmp_path)
    assert proc.returncode == 2
    assert "keel.yaml:" in proc.stderr and "strategy.canary.steps[1].weight" in proc.stderr
    assert not (tmp_path / ".keel").exists()


def test_a_second_deploy_to_a_locked_environment_is_refused(project: tuple[Path, int]) -> None:
    directory, _ = project
    store = Store(directory / ".keel" / "keel.db")
    now = __import__("time").time()
    store.try_lock(
        LockInfo("local", f"deploy:{os.getpid()}@h:x", __import__("socket").gethostname(), os.getpid(), now - 42,
                 now, "r-other"),
        lambda lock: False,
    )  # fmt: skip
    proc = keel("deploy", cwd=directory)
    assert proc.returncode == 3
    assert "environment local is locked by deploy" in proc.stderr and "r-other" in proc.stderr
    assert "held for 4" in proc.stderr  # 42s or so: the age is shown


def test_sigterm_aborts_the_release_and_rolls_back(project: tuple[Path, int]) -> None:
    import json
    import signal
    import subprocess
    import time

    from tests.keel.cli.releases import KEEL

    directory, _ = project
    assert keel("deploy", "--format", "json", cwd=directory).returncode == 0
    spec = directory / "keel.yaml"
    spec.write_text(spec.read_text().replace("hold: 2s", "hold: 60s"))
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KEEL_STATE_DIR", None)
    proc = subprocess.Popen(
        [KEEL, "deploy", "--format", "json"], cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        store = Store(directory / ".keel" / "keel.db")
        row = store.active_rollout("local")
        store.close()
        if row is not None and row.phase == "holding":
            break
        time.sleep(0.05)
    second = keel("deploy", cwd=directory)  # a second deploy while the first one runs
    assert second.returncode == 3, second.stderr
    assert "environment local is locked by deploy" in second.stderr and "held for" in second.stderr
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    data = json.loads(out)
    assert proc.returncode == 1, err
    assert data["phase"] == "rolled_back" and data["failed_by"] == "aborted"
    assert "interrupted: aborting the rollout" in err
    status = json.loads(keel("status", "--format", "json", cwd=directory).stdout)
    assert status["traffic"] == {data["previous"]: 100}


def test_notifications_reach_a_webhook_and_a_dead_one_does_not_matter(tmp_path: Path) -> None:
    from tests.keel.notify.server import receiver

    write_spec(
        tmp_path, free_port(), "direct",
        extra="notify:\n  timeout: 1s\n  webhook: {url_env: KEEL_TEST_HOOK}\n  slack: {webhook_env: KEEL_TEST_SLACK}\n",
    )  # fmt: skip
    try:
        with receiver() as (url, recorder):
            proc = keel(
                "deploy", "--format", "json", cwd=tmp_path,
                env={"KEEL_TEST_HOOK": url + "/hook", "KEEL_TEST_SLACK": "http://127.0.0.1:9/services/secret"},
            )  # fmt: skip
        data = result(proc)
        assert proc.returncode == 0, proc.stderr
        kinds = [body["kind"] for _, _, body in recorder.posts]
        assert kinds == ["deploying", "promoted"]
        assert all(
            body["service"] == "tiny" and body["environment"] == "local" for _, _, body in recorder.posts
        )
        failures = data["notifications"]["failures"]
        assert len(failures) == 2 and all(f.startswith("slack (") for f in failures)
        assert "secret" not in proc.stdout + proc.stderr
    finally:
        keel("down", "--env", "local", cwd=tmp_path)
