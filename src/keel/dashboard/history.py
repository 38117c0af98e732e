"""keel's own records of one service and environment as typed records, read with bounded, aggregating queries:
releases (deploys and manual rollbacks) with their outcome, cause and commit, page-alert incidents, and a
page of the release timeline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keel.store import Store

TERMINAL_PHASES = ("promoted", "failed", "rolled_back", "rollback_failed")
MAX_PAGE = 500  # releases per timeline page

# One row per release: the deployment record (its finish), the commit it shipped, when keel decided to roll it
# back and the highest weight the revision held; every part is a lookup in a covering index by rollout id, so a
# window of releases is one statement that never reads the rollouts' state column.
_RELEASES = """
SELECT r.id, r.kind, r.revision, r.previous, r.phase, r.created, r.updated,
  d.finished, c.sha, c.committed,
  (SELECT MIN(t.at) FROM transitions t WHERE t.rollout_id = r.id AND t.to_phase = 'rolling_back') AS failed_at,
  (SELECT MAX(t.weight) FROM transitions t WHERE t.rollout_id = r.id) AS max_weight{extra}
FROM rollouts r
LEFT JOIN deployments d ON d.rollout_id = r.id
LEFT JOIN commits c ON c.rollout_id = r.id
WHERE r.environment = ? AND (CAST(? AS TEXT) IS NULL OR r.service = ?) AND r.created >= ? AND r.created < ?
"""
# What the timeline shows besides (a page of rows, so evaluated for those rows only): why it ended, the looks.
_DETAIL = """,
  (SELECT t.reason FROM transitions t WHERE t.rollout_id = r.id
     AND t.to_phase IN ('rolling_back', 'failed', 'paused', 'rollback_failed') ORDER BY t.id DESC LIMIT 1) AS cause,
  (SELECT COUNT(*) FROM verdicts v WHERE v.rollout_id = r.id) AS looks"""


@dataclass(frozen=True)
class Verdict:
    """The deciding look of a release (its last): where it came, its outcome and its judge's summary."""

    step: int
    look: int
    at: float
    outcome: str
    summary: str


@dataclass(frozen=True)
class ReleaseRecord:
    """One release. ``kind`` is "deploy" (a new revision) or "rollback" (a manual rollback to ``revision``);
    ``finished`` is None while it is in progress; ``reached_users`` says whether the new revision ever held
    traffic; ``failed_at`` is when keel decided to roll it back."""

    id: str
    kind: str
    revision: str
    previous: str | None
    phase: str
    started: float
    finished: float | None
    reached_users: bool
    failed_at: float | None = None
    cause: str | None = None
    commit: str | None = None
    committed: float | None = None
    looks: int = 0

    @property
    def outcome(self) -> str:
        """promoted, rolled_back, failed, rollback_failed, or in_progress."""
        return self.phase if self.finished is not None else "in_progress"

    def to_json(self) -> dict[str, Any]:
        return {
            "rollout": self.id,
            "kind": self.kind,
            "revision": self.revision,
            "previous": self.previous,
            "outcome": self.outcome,
            "phase": self.phase,
            "started": self.started,
            "finished": self.finished,
            "reached_users": self.reached_users,
            "failed_at": self.failed_at,
            "cause": self.cause,
            "commit": self.commit,
            "committed": self.committed,
            "looks": self.looks,
        }


@dataclass(frozen=True)
class AlertIncident:
    """A page alert from firing to resolution (``resolved`` None: still firing at the end of the history)."""

    key: str
    name: str
    fired: float
    resolved: float | None


@dataclass(frozen=True)
class History:
    """What happened in [start, end): the releases that started in it (oldest first) and the page alerts that
    fired in it."""

    start: float
    end: float
    releases: tuple[ReleaseRecord, ...]
    incidents: tuple[AlertIncident, ...] = ()

    @property
    def days(self) -> float:
        return (self.end - self.start) / 86400.0


def _release(row: Mapping[str, Any]) -> ReleaseRecord:
    phase = str(row["phase"])
    finished: float | None = None
    if phase in TERMINAL_PHASES:
        finished = float(row["finished"] if row["finished"] is not None else row["updated"])
    max_weight = row["max_weight"]
    return ReleaseRecord(
        id=str(row["id"]),
        kind=str(row["kind"]),
        revision=str(row["revision"]),
        previous=row["previous"],
        phase=phase,
        started=float(row["created"]),
        finished=finished,
        reached_users=max_weight is not None and int(max_weight) > 0,
        failed_at=float(row["failed_at"]) if row["failed_at"] is not None else None,
        cause=row.get("cause"),
        commit=row["sha"],
        committed=float(row["committed"]) if row["committed"] is not None else None,
        looks=int(row.get("looks") or 0),
    )


class HistoryReader:
    """Reads one service's environment from a store (SQLite or PostgreSQL; the SQL is the store's dialect)."""

    def __init__(self, store: Store, service: str, environment: str) -> None:
        self.store = store
        self.service = service
        self.environment = environment

    @property
    def _scope(self) -> tuple[str, str, str]:
        return (self.environment, self.service, self.service)

    def history(self, start: float, end: float) -> History:
        rows = self.store.query(
            _RELEASES.format(extra="") + " ORDER BY r.created, r.rowid", (*self._scope, start, end)
        )
        return History(start, end, tuple(_release(r) for r in rows), self.incidents(start, end))

    def releases(self, start: float, end: float, *, limit: int = 50, offset: int = 0) -> list[ReleaseRecord]:
        """A page of the timeline, newest first."""
        limit = max(1, min(limit, MAX_PAGE))
        rows = self.store.query(
            _RELEASES.format(extra=_DETAIL) + " ORDER BY r.created DESC, r.rowid DESC LIMIT ? OFFSET ?",
            (*self._scope, start, end, limit, max(offset, 0)),
        )
        return [_release(r) for r in rows]

    def outcome_counts(self, start: float, end: float) -> dict[str, int]:
        """Releases per kind and outcome in the window, counted by the database: ``{"deploy:promoted": 3}``."""
        rows = self.store.query(
            "SELECT r.kind, CASE WHEN r.phase IN ('promoted', 'failed', 'rolled_back', 'rollback_failed') "
            "THEN r.phase ELSE 'in_progress' END AS outcome, COUNT(*) AS n FROM rollouts r "
            "WHERE r.environment = ? AND (CAST(? AS TEXT) IS NULL OR r.service = ?) AND r.created >= ? "
            "AND r.created < ? GROUP BY r.kind, outcome",
            (*self._scope, start, end),
        )
        return {f"{r['kind']}:{r['outcome']}": int(r["n"]) for r in rows}

    def deciding_verdicts(self, rollout_ids: list[str]) -> dict[str, Verdict]:
        """The last look of each given rollout (one statement for a page of the timeline)."""
        if not rollout_ids:
            return {}
        marks = ",".join("?" * len(rollout_ids))
        # marks are only "?" placeholders, one per id: the ids themselves are parameters
        rows = self.store.query(
            "SELECT v.rollout_id, v.step, v.look, v.at, v.outcome, v.verdict FROM verdicts v WHERE v.id IN "  # noqa: S608  # nosec B608
            f"(SELECT MAX(w.id) FROM verdicts w WHERE w.rollout_id IN ({marks}) GROUP BY w.rollout_id)",
            rollout_ids,
        )
        found: dict[str, Verdict] = {}
        for r in rows:
            summary = str(json.loads(r["verdict"]).get("summary", ""))
            found[str(r["rollout_id"])] = Verdict(
                int(r["step"]), int(r["look"]), float(r["at"]), r["outcome"], summary
            )
        return found

    def incidents(self, start: float, end: float) -> tuple[AlertIncident, ...]:
        """Page alerts that fired in the window, each paired with its next resolution."""
        rows = self.store.query(
            "SELECT key, name, event, at FROM alert_history WHERE service = ? AND environment = ? "
            "AND severity = 'page' AND event IN ('firing', 'resolved') AND at >= ? ORDER BY at, id",
            (self.service, self.environment, start),
        )
        open_: dict[str, tuple[str, float]] = {}
        done: list[AlertIncident] = []
        for r in rows:
            key, at = str(r["key"]), float(r["at"])
            if r["event"] == "firing":
                if key not in open_ and at < end:
                    open_[key] = (str(r["name"]), at)
            elif key in open_:
                name, fired = open_.pop(key)
                done.append(AlertIncident(key, name, fired, at))
        done += [AlertIncident(key, name, fired, None) for key, (name, fired) in open_.items()]
        return tuple(sorted(done, key=lambda i: (i.fired, i.key)))

    def daily_counts(self, start: float, end: float) -> list[dict[str, Any]]:
        """Deploys per UTC day and outcome in the window, counted by the database."""
        rows = self.store.query(
            "SELECT CAST(r.created AS BIGINT) / 86400 AS day, r.phase, COUNT(*) AS n FROM rollouts r "
            "WHERE r.environment = ? AND (CAST(? AS TEXT) IS NULL OR r.service = ?) AND r.kind = 'deploy' "
            "AND r.created >= ? AND r.created < ? GROUP BY day, r.phase ORDER BY day",
            (*self._scope, start, end),
        )
        return [{"day": int(r["day"]) * 86400, "phase": r["phase"], "count": int(r["n"])} for r in rows]
