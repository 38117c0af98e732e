"""A CI runner killed mid-canary, with the state in a shared PostgreSQL store: nothing of keel's own is left
on disk (the local platform's `.keel/<env>/` stays, as a cloud platform would), and `keel rollback` from
anywhere waits out the dead runner's lock, then ends with all traffic on one healthy revision."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

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
    write_project,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LOCK_TTL = 30.0  # long enough for the first keel rollback to start within it on a loaded machine


def wait_for_holding(url: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with Store(url, service="bayit-e2e") as store:
        while time.monotonic() < deadline:
            row = store.active_rollout(ENV)
            if row is not None and row.phase == "holding":
                return row.state
            time.sleep(0.1)
    raise AssertionError(f"no rollout reached holding within {timeout}s")


def test_killed_mid_canary_then_rolled_back_with_only_the_shared_store(
    tmp_path: Path, postgres_url: str
) -> None:
    port = free_port()
    spec = write_project(tmp_path, port, hold=60.0)
    spec.write_text(spec.read_text() + f"store: {{url: '{postgres_url}', lock_ttl: {LOCK_TTL:g}s}}\n")
    try:
        code, first, stderr = deploy(tmp_path, "RELEASE=1")
        assert code == 0, stderr
        load = Load(f"http://127.0.0.1:{port}").start()
        proc = start_deploy(tmp_path, "RELEASE=2")
        state = wait_for_holding(postgres_url)
        kill9(proc)
        assert status(tmp_path)["traffic"] == {first["revision"]: 90, state["revision"]: 10}
        assert not (tmp_path / ".keel" / "keel.db").exists()  # keel's state never was on this disk
        assert (tmp_path / ".keel" / ENV).is_dir()  # the local platform's own state

        held = keel("rollback", "--env", ENV, "--yes", "--format", "json", cwd=tmp_path, timeout=180)
        if held.returncode == 3:  # within the TTL of the dead runner's last heartbeat
            assert (
                "environment e2e is locked by deploy" in held.stderr and f"pid {proc.pid} on " in held.stderr
            )
            time.sleep(LOCK_TTL)
            back = keel("rollback", "--env", ENV, "--yes", "--format", "json", cwd=tmp_path, timeout=180)
            assert "took over a stale lock of deploy" in back.stderr and "last heartbeat" in back.stderr
        else:  # this machine was slow enough to start keel that the TTL had passed already
            back = held
        data = result(back)
        assert back.returncode == 0, back.stderr
        assert data["phase"] == "rolled_back" and data["rollback"]["target"] == first["revision"]
        assert_on_one_healthy_revision(tmp_path, first["revision"])
        load.stop()
        assert load.unexpected() == {}, load.outcomes
        with Store(postgres_url, service="bayit-e2e") as store:
            assert store.active_rollout(ENV) is None and store.lock(ENV) is None
            kinds = [e["kind"] for e in store.events(ENV)]
            assert ("lock_taken_over" in kinds) == (held.returncode == 3)
    finally:
        keel("down", "--env", ENV, cwd=tmp_path)
