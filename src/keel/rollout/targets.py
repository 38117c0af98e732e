"""Rollback targets: the revisions that served before, newest first, never one whose release was aborted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keel.platforms.base import Revision
from keel.rollout.errors import RollbackRefused
from keel.rollout.guards import ABORTED, refuse_aborted
from keel.store import Store


@dataclass(frozen=True)
class Candidate:
    """``n`` revisions back (1 = the one that served before the current one)."""

    n: int
    revision: str
    since: float
    status: str
    available: bool

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "revision": self.revision,
            "served_since": self.since,
            "status": self.status,
            "available": self.available,
        }


def candidates(
    store: Store, environment: str, serving: str | None, on_platform: Sequence[Revision]
) -> list[Candidate]:
    """Revisions that held all traffic before, newest first, without the current one and aborted ones."""
    names = {r.name for r in on_platform}
    seen = {serving} if serving else set()
    out: list[Candidate] = []
    for row in store.serving_history(environment):
        if row.revision in seen:
            continue
        seen.add(row.revision)
        status = store.revision_status(environment, row.revision) or "unknown"
        if status == ABORTED:
            continue
        out.append(Candidate(len(out) + 1, row.revision, row.since, status, row.revision in names))
    return out


def choose_target(
    store: Store,
    environment: str,
    serving: str | None,
    on_platform: Sequence[Revision],
    *,
    steps_back: int | None = None,
    revision: str | None = None,
) -> str:
    """The revision a manual rollback switches to: ``--revision R`` or ``-n N`` served revisions back."""
    if revision is not None:
        if revision == serving:
            raise RollbackRefused(f"revision {revision} already serves all traffic in {environment}")
        refuse_aborted(store, environment, revision)
        if revision not in {r.name for r in on_platform}:
            raise RollbackRefused(f"revision {revision} does not exist in environment {environment}")
        return revision
    n = 1 if steps_back is None else steps_back
    options = candidates(store, environment, serving, on_platform)
    if n < 1:
        raise RollbackRefused(f"-n must be 1 or more (got {n})")
    if not options:
        raise RollbackRefused(
            f"no earlier revision served in {environment}: nothing to roll back to (a first deploy has no "
            "rollback target)"
        )
    if n > len(options):
        raise RollbackRefused(
            f"-n {n}: only {len(options)} earlier served revision(s) in {environment} (see keel rollback --list)"
        )
    chosen = options[n - 1]
    if not chosen.available:
        raise RollbackRefused(f"revision {chosen.revision} ({n} back) no longer exists on the platform")
    return chosen.revision
