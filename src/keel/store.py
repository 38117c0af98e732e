"""keel's own records in SQLite: rollouts and their transitions, verdicts, events, revisions, deployments, locks."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.errors import KeelError

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rollouts (
    id TEXT PRIMARY KEY, environment TEXT NOT NULL, service TEXT NOT NULL, kind TEXT NOT NULL,
    revision TEXT NOT NULL, previous TEXT, phase TEXT NOT NULL, active INTEGER NOT NULL,
    state TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rollouts_env ON rollouts (environment, created);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, at REAL NOT NULL,
    from_phase TEXT NOT NULL, to_phase TEXT NOT NULL, reason TEXT NOT NULL, weight INTEGER);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, step INTEGER NOT NULL,
    look INTEGER NOT NULL, at REAL NOT NULL, outcome TEXT NOT NULL, verdict TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT, environment TEXT NOT NULL, at REAL NOT NULL,
    kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
    environment TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL, status TEXT NOT NULL,
    rollout_id TEXT, spec TEXT NOT NULL, PRIMARY KEY (environment, name));
CREATE TABLE IF NOT EXISTS serving (
    id INTEGER PRIMARY KEY AUTOINCREMENT, environment TEXT NOT NULL, revision TEXT NOT NULL,
    since REAL NOT NULL, rollout_id TEXT, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deployments (
    rollout_id TEXT PRIMARY KEY, environment TEXT NOT NULL, service TEXT NOT NULL, revision TEXT NOT NULL,
    previous TEXT, started REAL NOT NULL, finished REAL NOT NULL, outcome TEXT NOT NULL,
    rolled_back INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    environment TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    acquired REAL NOT NULL, heartbeat REAL NOT NULL, rollout_id TEXT);
"""


class StoreError(KeelError):
    """The state database cannot be opened or is from a newer keel."""


@dataclass(frozen=True)
class LockInfo:
    environment: str
    owner: str
    host: str
    pid: int
    acquired: float
    heartbeat: float
    rollout_id: str | None


@dataclass(frozen=True)
class RolloutRow:
    id: str
    environment: str
    service: str
    kind: str
    revision: str
    previous: str | None
    phase: str
    active: bool
    state: dict[str, Any]
    created: float
    updated: float


@dataclass(frozen=True)
class ServingRow:
    environment: str
    revision: str
    since: float
    rollout_id: str | None
    reason: str


class Store:
    """One SQLite file shared by every keel process of a project (WAL mode, short transactions)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.path.touch(
                mode=0o600, exist_ok=True
            )  # rollouts keep the revision's --set values: owner only
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a killed process
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"state database {self.path}: cannot open: {exc}") from None
        self._mutex = threading.RLock()
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction() as db:
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)
            columns = {r["name"] for r in db.execute("PRAGMA table_info(transitions)")}
            if "weight" not in columns:  # schema 1 -> 2: the new revision's weight after each transition
                db.execute("ALTER TABLE transitions ADD COLUMN weight INTEGER")
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row["value"]) > SCHEMA_VERSION:
                raise StoreError(
                    f"state database {self.path}: schema version {row['value']} is newer than this keel "
                    f"({SCHEMA_VERSION}); upgrade keel"
                )
            elif int(row["value"]) < SCHEMA_VERSION:
                db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row["value"])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: writers queue on the database lock instead of failing halfway."""
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- rollouts ---------------------------------------------------------------------------------------------

    def insert_rollout(self, row: RolloutRow) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO rollouts VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.id, row.environment, row.service, row.kind, row.revision, row.previous, row.phase,
                    int(row.active), json.dumps(row.state), row.created, row.updated,
                ),
            )  # fmt: skip

    def save_transition(
        self,
        rollout_id: str,
        *,
        from_phase: str,
        to_phase: str,
        reason: str,
        active: bool,
        state: dict[str, Any],
        at: float,
        previous: str | None,
        weight: int | None = None,
    ) -> None:
        """Persist one step of a rollout: its new state and the transition (with the new revision's traffic
        weight once it is in effect), atomically."""
        with self.transaction() as db:
            db.execute(
                "UPDATE rollouts SET phase=?, active=?, state=?, updated=?, previous=? WHERE id=?",
                (to_phase, int(active), json.dumps(state), at, previous, rollout_id),
            )
            if from_phase != to_phase:
                db.execute(
                    "INSERT INTO transitions (rollout_id, at, from_phase, to_phase, reason, weight) "
                    "VALUES (?,?,?,?,?,?)",
                    (rollout_id, at, from_phase, to_phase, reason, weight),
                )

    @staticmethod
    def _rollout(r: sqlite3.Row) -> RolloutRow:
        return RolloutRow(
            r["id"], r["environment"], r["service"], r["kind"], r["revision"], r["previous"], r["phase"],
            bool(r["active"]), json.loads(r["state"]), r["created"], r["updated"],
        )  # fmt: skip

    def rollout(self, rollout_id: str) -> RolloutRow | None:
        r = self._db.execute("SELECT * FROM rollouts WHERE id=?", (rollout_id,)).fetchone()
        return self._rollout(r) if r else None

    def active_rollout(self, environment: str) -> RolloutRow | None:
        r = self._db.execute(
            "SELECT * FROM rollouts WHERE environment=? AND active=1 ORDER BY created DESC LIMIT 1",
            (environment,),
        ).fetchone()
        return self._rollout(r) if r else None

    def rollouts(self, environment: str, limit: int = 50) -> list[RolloutRow]:
        rows = self._db.execute(
            "SELECT * FROM rollouts WHERE environment=? ORDER BY created DESC, rowid DESC LIMIT ?",
            (environment, limit),
        ).fetchall()
        return [self._rollout(r) for r in rows]

    def transitions(self, rollout_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT at, from_phase, to_phase, reason, weight FROM transitions WHERE rollout_id=? ORDER BY id",
            (rollout_id,),
        ).fetchall()
        return [dict(r) for r in rows]

    def count_rollouts(self, environment: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) AS n FROM rollouts WHERE environment=?", (environment,)
        ).fetchone()
        return int(row["n"])

    # --- verdicts and events ----------------------------------------------------------------------------------

    def add_verdict(
        self, rollout_id: str, step: int, look: int, at: float, outcome: str, verdict: dict[str, Any]
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO verdicts (rollout_id, step, look, at, outcome, verdict) VALUES (?,?,?,?,?,?)",
                (rollout_id, step, look, at, outcome, json.dumps(verdict, default=str)),
            )

    def verdicts(self, rollout_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT step, look, at, outcome, verdict FROM verdicts WHERE rollout_id=? ORDER BY id",
            (rollout_id,),
        ).fetchall()
        return [{**dict(r), "verdict": json.loads(r["verdict"])} for r in rows]

    def add_event(
        self,
        environment: str,
        kind: str,
        message: str,
        at: float,
        rollout_id: str | None,
        data: dict[str, Any],
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO events (rollout_id, environment, at, kind, message, data) VALUES (?,?,?,?,?,?)",
                (rollout_id, environment, at, kind, message, json.dumps(data, default=str)),
            )

    def events(self, environment: str, rollout_id: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT rollout_id, at, kind, message, data FROM events WHERE environment=?"
        params: tuple[Any, ...] = (environment,)
        if rollout_id is not None:
            query += " AND rollout_id=?"
            params += (rollout_id,)
        rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    # --- revisions and what served --------------------------------------------------------------------------

    def record_revision(
        self, environment: str, name: str, created: float, rollout_id: str | None, spec: dict[str, Any]
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO revisions VALUES (?,?,?,?,?,?)",
                (environment, name, created, "deployed", rollout_id, json.dumps(spec)),
            )

    def set_revision_status(self, environment: str, name: str, status: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE revisions SET status=? WHERE environment=? AND name=?", (status, environment, name)
            )

    def revision_status(self, environment: str, name: str) -> str | None:
        r = self._db.execute(
            "SELECT status FROM revisions WHERE environment=? AND name=?", (environment, name)
        ).fetchone()
        return str(r["status"]) if r else None

    def revisions(self, environment: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT name, created, status, rollout_id FROM revisions WHERE environment=? ORDER BY created, rowid",
            (environment,),
        ).fetchall()
        return [dict(r) for r in rows]

    def record_serving(
        self, environment: str, revision: str, since: float, rollout_id: str | None, reason: str
    ) -> None:
        """Note that ``revision`` took 100 % of traffic (unless it already was the last one noted)."""
        with self.transaction() as db:
            last = db.execute(
                "SELECT revision FROM serving WHERE environment=? ORDER BY id DESC LIMIT 1", (environment,)
            ).fetchone()
            if last is None or last["revision"] != revision:
                db.execute(
                    "INSERT INTO serving (environment, revision, since, rollout_id, reason) VALUES (?,?,?,?,?)",
                    (environment, revision, since, rollout_id, reason),
                )

    def serving_history(self, environment: str) -> list[ServingRow]:
        """Revisions that held all traffic, newest first."""
        rows = self._db.execute(
            "SELECT * FROM serving WHERE environment=? ORDER BY id DESC", (environment,)
        ).fetchall()
        return [
            ServingRow(r["environment"], r["revision"], r["since"], r["rollout_id"], r["reason"])
            for r in rows
        ]

    # --- deployments (deployment metrics read these) -------------------------------------------------------

    def record_deployment(
        self,
        rollout_id: str,
        environment: str,
        service: str,
        revision: str,
        previous: str | None,
        started: float,
        finished: float,
        outcome: str,
        rolled_back: bool,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO deployments VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    rollout_id,
                    environment,
                    service,
                    revision,
                    previous,
                    started,
                    finished,
                    outcome,
                    int(rolled_back),
                ),
            )

    def deployments(self, environment: str | None = None) -> list[dict[str, Any]]:
        if environment is None:
            rows = self._db.execute("SELECT * FROM deployments ORDER BY started").fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM deployments WHERE environment=? ORDER BY started", (environment,)
            ).fetchall()
        return [{**dict(r), "rolled_back": bool(r["rolled_back"])} for r in rows]

    # --- locks -----------------------------------------------------------------------------------------------

    @staticmethod
    def _lock(r: sqlite3.Row) -> LockInfo:
        return LockInfo(
            r["environment"], r["owner"], r["host"], r["pid"], r["acquired"], r["heartbeat"], r["rollout_id"]
        )

    def lock(self, environment: str) -> LockInfo | None:
        r = self._db.execute("SELECT * FROM locks WHERE environment=?", (environment,)).fetchone()
        return self._lock(r) if r else None

    def try_lock(
        self, wanted: LockInfo, is_stale: Callable[[LockInfo], bool]
    ) -> tuple[bool, LockInfo | None]:
        """Take the environment's lock unless a live holder has it. Returns (taken, the lock replaced or held)."""
        with self.transaction() as db:
            r = db.execute("SELECT * FROM locks WHERE environment=?", (wanted.environment,)).fetchone()
            current = self._lock(r) if r else None
            if current is not None and current.owner != wanted.owner and not is_stale(current):
                return False, current
            db.execute(
                "INSERT OR REPLACE INTO locks VALUES (?,?,?,?,?,?,?)",
                (
                    wanted.environment, wanted.owner, wanted.host, wanted.pid, wanted.acquired,
                    wanted.heartbeat, wanted.rollout_id,
                ),
            )  # fmt: skip
            return True, current

    def heartbeat(self, environment: str, owner: str, at: float, rollout_id: str | None = None) -> bool:
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE locks SET heartbeat=?, rollout_id=COALESCE(?, rollout_id) WHERE environment=? AND owner=?",
                (at, rollout_id, environment, owner),
            )
            return cur.rowcount == 1

    def release_lock(self, environment: str, owner: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM locks WHERE environment=? AND owner=?", (environment, owner))

    # --- alerts (the embedded watcher: state survives a restart, history feeds MTTR) -----------------------

    def save_alert(self, row: AlertRow) -> None:
        """Insert or replace one alert's current state (by key, service and environment)."""
        with self.transaction() as db:
            db.execute(_ALERTS_TABLE)
            db.execute(
                "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    row.key, row.service, row.environment, row.name, row.severity, row.state, row.active_count,
                    row.active_since, row.fired_at, row.last_active, row.last_notified, row.notifications,
                    row.value, row.detail,
                ),
            )  # fmt: skip

    def alerts(self, service: str, environment: str) -> list[AlertRow]:
        """Alerts not inactive (pending or firing) of one service and environment."""
        with self.transaction() as db:
            db.execute(_ALERTS_TABLE)
            rows = db.execute(
                "SELECT * FROM alerts WHERE service=? AND environment=? AND state != 'inactive' ORDER BY key",
                (service, environment),
            ).fetchall()
        return [AlertRow(**dict(r)) for r in rows]

    def add_alert_event(
        self, row: AlertRow, event: str, at: float, value: float | None, detail: str = ""
    ) -> None:
        """One line of an alert's history: fired, notified, repeated, resolved."""
        with self.transaction() as db:
            db.execute(_ALERT_HISTORY_TABLE)
            db.execute(
                "INSERT INTO alert_history (key, service, environment, name, severity, event, at, value, detail)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (row.key, row.service, row.environment, row.name, row.severity, event, at, value, detail),
            )

    def alert_history(self, service: str, environment: str, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""
        with self.transaction() as db:
            db.execute(_ALERT_HISTORY_TABLE)
            rows = db.execute(
                "SELECT key, name, severity, event, at, value, detail FROM alert_history"
                " WHERE service=? AND environment=? ORDER BY id DESC LIMIT ?",
                (service, environment, limit),
            ).fetchall()
        return [dict(r) for r in rows]


@dataclass(frozen=True)
class AlertRow:
    """An alert's state as the watcher last saved it."""

    key: str
    service: str
    environment: str
    name: str
    severity: str
    state: str  # inactive, pending, firing, resolving (a resolve notification not yet delivered)
    active_count: int = 0
    active_since: float | None = None
    fired_at: float | None = None
    last_active: float | None = None
    last_notified: float | None = None
    notifications: int = 0
    value: float | None = None
    detail: str = ""


_ALERTS_TABLE = """CREATE TABLE IF NOT EXISTS alerts (
    key TEXT NOT NULL, service TEXT NOT NULL, environment TEXT NOT NULL, name TEXT NOT NULL,
    severity TEXT NOT NULL, state TEXT NOT NULL, active_count INTEGER NOT NULL, active_since REAL,
    fired_at REAL, last_active REAL, last_notified REAL, notifications INTEGER NOT NULL, value REAL,
    detail TEXT NOT NULL, PRIMARY KEY (key, service, environment))"""
_ALERT_HISTORY_TABLE = """CREATE TABLE IF NOT EXISTS alert_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, service TEXT NOT NULL, environment TEXT NOT NULL,
    name TEXT NOT NULL, severity TEXT NOT NULL, event TEXT NOT NULL, at REAL NOT NULL, value REAL,
    detail TEXT NOT NULL)"""
