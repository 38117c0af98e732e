"""A CI runner killed mid-canary, with the state in a shared PostgreSQL store: nothing of keel's own is left
on disk (the local platform's `.keel/<env>/` stays, as a cloud platform would), and `keel rollback` or
`keel deploy --resume` from anywhere waits out the dead runner's lock, then ends with all traffic on one
healthy revision."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keel.store import Store
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
    wait_for_holding,
    write_project,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LOCK_TTL = 30.0  # long enough for the next keel command to start within it on a loaded machine


@dataclass
class Killed:
    directory: Path
    url: str
    serving: str  # the revision that held 100 % before
    canary: str  # the revision the killed runner held at 10 %
    pid: int
    load: Load


@pytest.fixture
def killed(tmp_path: Path, postgres_url: str) -> Iterator[Killed]:
    """A released Bayit+ under steady load, then a second release killed -9 while holding 10 %."""
    port = free_port()
    spec = write_project(tmp_path, port, hold=60.0)
    spec.write_text(spec.read_text() + f"store: {{url: '{postgres_url}', lock_ttl: {LOCK_TTL:g}s}}\n")
    try:
        code, first, stderr = deploy(tmp_path, "RELEASE=1")
        assert code == 0, stderr
        load = Load(f"http://127.0.0.1:{port}").start()
        proc = start_deploy(tmp_path, "RELEASE=2")
        state = wait_for_holding(postgres_url, "bayit-e2e")
        kill9(proc)
        assert status(tmp_path)["traffic"] == {first["revision"]: 90, state["revision"]: 10}
        assert not (tmp_path / ".keel" / "keel.db").exists()  # keel's state never was on this disk
        assert (tmp_path / ".keel" / ENV).is_dir()  # the local platform's own state
        yield Killed(tmp_path, postgres_url, first["revision"], state["revision"], proc.pid, load)
        load.stop()
        assert load.unexpected() == {}, load.outcomes
    finally:
        keel("down", "--env", ENV, cwd=tmp_path)


def after_the_lock(killed: Killed, *args: str) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run keel: refused (exit 3, naming the dead runner) while its lock is fresh, then run again after the
    TTL, taking the lock over with a warning. Returns the final run and whether the lock had to be waited out."""
    command = [*args, "--env", ENV, "--format", "json"]
    first = keel(*command, cwd=killed.directory, timeout=180)
    if first.returncode != 3:  # this machine was slow enough to start keel that the TTL had passed already
        return first, False
    assert "environment e2e is locked by deploy" in first.stderr and f"pid {killed.pid} on " in first.stderr
    time.sleep(LOCK_TTL)
    again = keel(*command, cwd=killed.directory, timeout=180)
    assert "took over a stale lock of deploy" in again.stderr and "last heartbeat" in again.stderr
    return again, True


def assert_settled(killed: Killed, revision: str, waited: bool) -> None:
    assert_on_one_healthy_revision(killed.directory, revision)
    with Store(killed.url, service="bayit-e2e") as store:
        assert store.active_rollout(ENV) is None and store.lock(ENV) is None
        assert ("lock_taken_over" in [e["kind"] for e in store.events(ENV)]) == waited


def test_killed_mid_canary_then_rolled_back_with_only_the_shared_store(killed: Killed) -> None:
    back, waited = after_the_lock(killed, "rollback", "--yes")
    data = result(back)
    assert back.returncode == 0, back.stderr
    assert data["phase"] == "rolled_back" and data["rollback"]["target"] == killed.serving
    assert_settled(killed, killed.serving, waited)


def test_killed_mid_canary_then_resumed_with_only_the_shared_store(killed: Killed) -> None:
    resumed, waited = after_the_lock(killed, "deploy", "--resume")
    data = result(resumed)
    assert resumed.returncode == 0, resumed.stderr
    assert data["phase"] == "promoted" and data["revision"] == killed.canary
    assert_settled(killed, killed.canary, waited)


def test_two_checkouts_sharing_the_store_one_deploy_proceeds_the_other_exits_3(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two jobs (two checkouts, nothing shared but the store) release the same service at once: the second
    exits 3 naming the first's host, pid and rollout, and changes nothing."""
    import json
    import os

    from tests.keel.cli.releases import KEEL, write_spec

    store = f"store: {{url: '{postgres_url}', lock_ttl: {LOCK_TTL:g}s}}\n"
    canary = "{canary: {steps: [{weight: 50, hold: 60s}, {weight: 100}]}}"
    one, two = tmp_path / "job-1", tmp_path / "job-2"
    for directory in (one, two):
        directory.mkdir()
        write_spec(directory, free_port(), canary, extra=store)
    released = keel("deploy", "--format", "json", cwd=one, timeout=180)  # so the next one has a canary
    assert released.returncode == 0, released.stderr
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KEEL_STATE_DIR", None)
    first = subprocess.Popen(
        [KEEL, "deploy", "--format", "json"], cwd=one, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        with Store(postgres_url, service="tiny") as shared:
            deadline = time.monotonic() + 120
            while (row := shared.active_rollout("local")) is None or row.phase != "holding":
                assert time.monotonic() < deadline and first.poll() is None, "the first deploy never held"
                time.sleep(0.1)
            second = keel("deploy", "--format", "json", cwd=two)
            assert second.returncode == 3, second.stderr
            assert (
                "environment local is locked by deploy" in second.stderr
                and f"(pid {first.pid} on " in second.stderr
            )
            assert f"rollout {row.id}" in second.stderr and "since 20" in second.stderr
            assert shared.count_rollouts("local") == 2  # the refused job recorded nothing
        first.send_signal(__import__("signal").SIGTERM)  # the first job is cancelled: it rolls back
        out, err = first.communicate(timeout=120)
        assert first.returncode == 1 and json.loads(out)["phase"] == "rolled_back", err
        again = keel("deploy", "--format", "json", cwd=two, timeout=180)  # now the second job may go
        assert again.returncode == 0, again.stderr
    finally:
        if first.poll() is None:
            first.kill()
        for directory in (one, two):
            keel("down", "--env", "local", cwd=directory)
