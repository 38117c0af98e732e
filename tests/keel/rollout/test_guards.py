"""One writer per environment: a lock with owner and age, stale when its process is gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keel.rollout.errors import LockHeld, RollbackRefused
from keel.rollout.guards import EnvironmentLock, Owner, pid_alive, refuse_aborted, this_process
from keel.store import Store
from tests.keel.rollout.fakes import FakeClock


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_second_deploy_is_refused_naming_owner_and_age(tmp_path: Path) -> None:
    store, clock = Store(tmp_path / "k.db"), FakeClock()
    first = EnvironmentLock(store, "staging", this_process("deploy", "aaaa"), clock)
    first.acquire("r-first")
    clock.now += 95
    first.heartbeat()
    clock.now += 5
    second = EnvironmentLock(store, "staging", this_process("deploy", "bbbb"), clock)
    with pytest.raises(LockHeld) as info:
        second.acquire()
    message = str(info.value)
    assert "environment staging is locked by deploy" in message
    assert "rollout r-first" in message and "held for 100s" in message and "last heartbeat 5s ago" in message
    assert info.value.exit_code == 3
    other_env = EnvironmentLock(store, "production", this_process("deploy", "cccc"), clock)
    other_env.acquire()  # environments do not block each other


def test_a_lock_whose_process_died_is_taken_over(tmp_path: Path) -> None:
    store, clock = Store(tmp_path / "k.db"), FakeClock()
    me = this_process("deploy", "x")
    ghost = Owner("deploy:ghost", me.host, dead_pid())
    EnvironmentLock(store, "local", ghost, clock).acquire("r-ghost")
    lock = EnvironmentLock(store, "local", me, clock)
    lock.acquire()
    assert lock.describe_replaced() is not None and "gone" in (lock.describe_replaced() or "")
    lock.release()
    assert store.lock("local") is None


def test_a_lock_from_another_host_expires_by_heartbeat(tmp_path: Path) -> None:
    store, clock = Store(tmp_path / "k.db"), FakeClock()
    EnvironmentLock(store, "local", Owner("deploy:far", "elsewhere", 1), clock).acquire()
    mine = EnvironmentLock(store, "local", this_process("deploy", "y"), clock, stale_after=120)
    with pytest.raises(LockHeld):
        mine.acquire()
    clock.now += 121
    mine.acquire()


def test_pid_alive() -> None:
    import os

    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid())


def test_never_roll_back_to_an_aborted_revision(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    store.record_revision("local", "svc-2", 1.0, "r-2", {})
    refuse_aborted(store, "local", "svc-2")
    store.set_revision_status("local", "svc-2", "aborted")
    with pytest.raises(RollbackRefused, match="svc-2 was aborted during its own release"):
        refuse_aborted(store, "local", "svc-2")
