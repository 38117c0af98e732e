"""Guards around rollouts: one writer per environment (a lock with owner and age), and rollback targets."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass

from keel.processes import pid_alive
from keel.rollout.errors import LockHeld, RollbackRefused
from keel.store import LockInfo, Store
from keel.types import Clock

ABORTED = "aborted"


@dataclass(frozen=True)
class Owner:
    """Who holds a lock: a command on a host with a pid (a dead pid on this host frees the lock)."""

    id: str
    host: str
    pid: int


def this_process(command: str, token: str) -> Owner:
    """This process as a lock owner; in GitHub Actions the owner names the workflow run, so the job that finds
    the environment locked says which run holds it (runner host names say little)."""
    host = socket.gethostname()
    pid = os.getpid()
    run, repository = os.environ.get("GITHUB_RUN_ID"), os.environ.get("GITHUB_REPOSITORY")
    if run and os.environ.get("GITHUB_ACTIONS") == "true":
        command += (
            f" in GitHub Actions run {repository}#{run}" if repository else f" in GitHub Actions run {run}"
        )
    return Owner(f"{command.replace(':', ' ')}:{pid}@{host}:{token}", host, pid)


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


class EnvironmentLock:
    """At most one keel deploy/rollback per environment (of the store's service). A holder no longer holds it
    when its heartbeat is older than ``stale_after`` (the store's lock TTL unless given) or, on a store only
    this machine uses (SQLite), when its process on this host is gone. On a shared store (PostgreSQL) a pid
    says nothing: another runner may carry the same host name, so only the heartbeat counts there.

    With ``keepalive`` the heartbeat is refreshed from a thread every third of the TTL while the lock is held,
    so a step that blocks (a long platform call) never makes a live holder look stale."""

    def __init__(
        self,
        store: Store,
        environment: str,
        owner: Owner,
        clock: Clock,
        stale_after: float | None = None,
        *,
        keepalive: bool = False,
    ) -> None:
        self._store = store
        self.environment = environment
        self.owner = owner
        self._clock = clock
        self._stale_after = store.lock_ttl if stale_after is None else stale_after
        self._keepalive = keepalive
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.replaced: LockInfo | None = None
        self.lost = False

    def _is_stale(self, lock: LockInfo) -> bool:
        if lock.host == self.owner.host and not self._store.shared:
            return not pid_alive(lock.pid)
        return self._clock() - lock.heartbeat > self._stale_after

    def acquire(self, rollout_id: str | None = None) -> None:
        now = self._clock()
        wanted = LockInfo(
            self.environment, self.owner.id, self.owner.host, self.owner.pid, now, now, rollout_id
        )
        taken, current = self._store.try_lock(wanted, self._is_stale)
        if not taken and current is not None:
            what = f", rollout {current.rollout_id}" if current.rollout_id else ""
            raise LockHeld(
                f"environment {self.environment} is locked by {current.owner.split(':')[0]} "
                f"(pid {current.pid} on {current.host}{what}), held for {_age(now - current.acquired)} "
                f"(since {_utc(current.acquired)}), last heartbeat {_age(now - current.heartbeat)} ago; "
                "wait for it to finish"
            )
        self.replaced = current if current is not None and current.owner != self.owner.id else None
        if self._keepalive and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._beat, name="keel-lock-heartbeat", daemon=True)
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self._stale_after / 3):
            try:
                self.heartbeat()
            except Exception:  # noqa: S112 (the store is unreachable for now: the next beat tries again)
                continue

    def heartbeat(self, rollout_id: str | None = None) -> None:
        if not self._store.heartbeat(self.environment, self.owner.id, self._clock(), rollout_id):
            self.lost = True  # taken over: this process was silent for longer than the TTL

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._store.release_lock(self.environment, self.owner.id)

    def describe_replaced(self) -> str | None:
        lock = self.replaced
        if lock is None:
            return None
        now = self._clock()
        if lock.host == self.owner.host and not self._store.shared:
            why = "gone"
        else:
            why = f"silent: last heartbeat {_age(now - lock.heartbeat)} ago, longer than {_age(self._stale_after)}"
        what = f", rollout {lock.rollout_id}" if lock.rollout_id else ""
        return (
            f"took over a stale lock of {lock.owner.split(':')[0]} "
            f"(pid {lock.pid} on {lock.host}{what}, since {_utc(lock.acquired)}, {why})"
        )


def refuse_aborted(store: Store, environment: str, revision: str) -> None:
    """Never roll back to a revision whose own release was aborted."""
    if store.revision_status(environment, revision) == ABORTED:
        raise RollbackRefused(
            f"revision {revision} was aborted during its own release; keel never rolls back to it"
        )
