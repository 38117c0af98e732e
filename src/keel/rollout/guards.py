"""Guards around rollouts: one writer per environment (a lock with owner and age), and rollback targets."""

from __future__ import annotations

import os
import socket
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
    host = socket.gethostname()
    pid = os.getpid()
    return Owner(f"{command}:{pid}@{host}:{token}", host, pid)


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


class EnvironmentLock:
    """At most one keel deploy/rollback per environment. A holder whose process is gone (same host), or whose
    heartbeat is older than ``stale_after`` (another host), no longer holds it."""

    def __init__(
        self, store: Store, environment: str, owner: Owner, clock: Clock, stale_after: float = 120.0
    ) -> None:
        self._store = store
        self.environment = environment
        self.owner = owner
        self._clock = clock
        self._stale_after = stale_after
        self.replaced: LockInfo | None = None

    def _is_stale(self, lock: LockInfo) -> bool:
        if lock.host == self.owner.host:
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
                f"(pid {current.pid} on {current.host}{what}), held for {_age(now - current.acquired)}, "
                f"last heartbeat {_age(now - current.heartbeat)} ago; wait for it to finish"
            )
        self.replaced = current if current is not None and current.owner != self.owner.id else None

    def heartbeat(self, rollout_id: str | None = None) -> None:
        self._store.heartbeat(self.environment, self.owner.id, self._clock(), rollout_id)

    def release(self) -> None:
        self._store.release_lock(self.environment, self.owner.id)

    def describe_replaced(self) -> str | None:
        lock = self.replaced
        if lock is None:
            return None
        return f"took over a stale lock of {lock.owner.split(':')[0]} (pid {lock.pid} on {lock.host}, gone)"


def refuse_aborted(store: Store, environment: str, revision: str) -> None:
    """Never roll back to a revision whose own release was aborted."""
    if store.revision_status(environment, revision) == ABORTED:
        raise RollbackRefused(
            f"revision {revision} was aborted during its own release; keel never rolls back to it"
        )
