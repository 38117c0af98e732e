"""keel's own records, in a SQLite file or a shared PostgreSQL database: rollouts and their transitions,
verdicts, events, revisions, deployments, locks."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.errors import KeelError
from keel.storeconfig import (
    DEFAULT_LOCK_TTL,
    PostgresLocation,
    SqliteLocation,
    StoreLocation,
    parse_location,
    redact,
)

SCHEMA_VERSION = 4

# Written once, in the SQL both databases speak (SQLite's types; PostgreSQL gets DOUBLE PRECISION for REAL,
# identity columns for AUTOINCREMENT and an explicit insertion-order ``rowid``, see _postgres_ddl).
# Schema 3: rows that belong to one service carry it (a shared store holds several services), and the lock
# key is (service, environment).
_TABLES: dict[str, str] = {
    "meta": "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "rollouts": """CREATE TABLE IF NOT EXISTS rollouts (
    id TEXT PRIMARY KEY, environment TEXT NOT NULL, service TEXT NOT NULL, kind TEXT NOT NULL,
    revision TEXT NOT NULL, previous TEXT, phase TEXT NOT NULL, active INTEGER NOT NULL,
    state TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL)""",
    "transitions": """CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, at REAL NOT NULL,
    from_phase TEXT NOT NULL, to_phase TEXT NOT NULL, reason TEXT NOT NULL, weight INTEGER)""",
    "verdicts": """CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, step INTEGER NOT NULL,
    look INTEGER NOT NULL, at REAL NOT NULL, outcome TEXT NOT NULL, verdict TEXT NOT NULL)""",
    "events": """CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT, environment TEXT NOT NULL, at REAL NOT NULL,
    kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL, service TEXT NOT NULL DEFAULT '')""",
    "revisions": """CREATE TABLE IF NOT EXISTS revisions (
    service TEXT NOT NULL DEFAULT '', environment TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL,
    status TEXT NOT NULL, rollout_id TEXT, spec TEXT NOT NULL, PRIMARY KEY (service, environment, name))""",
    "serving": """CREATE TABLE IF NOT EXISTS serving (
    id INTEGER PRIMARY KEY AUTOINCREMENT, environment TEXT NOT NULL, revision TEXT NOT NULL,
    since REAL NOT NULL, rollout_id TEXT, reason TEXT NOT NULL, service TEXT NOT NULL DEFAULT '')""",
    "deployments": """CREATE TABLE IF NOT EXISTS deployments (
    rollout_id TEXT PRIMARY KEY, environment TEXT NOT NULL, service TEXT NOT NULL, revision TEXT NOT NULL,
    previous TEXT, started REAL NOT NULL, finished REAL NOT NULL, outcome TEXT NOT NULL,
    rolled_back INTEGER NOT NULL)""",
    "locks": """CREATE TABLE IF NOT EXISTS locks (
    service TEXT NOT NULL DEFAULT '', environment TEXT NOT NULL, owner TEXT NOT NULL, host TEXT NOT NULL,
    pid INTEGER NOT NULL, acquired REAL NOT NULL, heartbeat REAL NOT NULL, rollout_id TEXT,
    PRIMARY KEY (service, environment))""",
    # the embedded watcher (keel watch): each alert's state survives a restart; the history feeds MTTR
    "alerts": """CREATE TABLE IF NOT EXISTS alerts (
    key TEXT NOT NULL, service TEXT NOT NULL, environment TEXT NOT NULL, name TEXT NOT NULL,
    severity TEXT NOT NULL, state TEXT NOT NULL, active_count INTEGER NOT NULL, active_since REAL,
    fired_at REAL, last_active REAL, last_notified REAL, notifications INTEGER NOT NULL, value REAL,
    detail TEXT NOT NULL, PRIMARY KEY (key, service, environment))""",
    "alert_history": """CREATE TABLE IF NOT EXISTS alert_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, service TEXT NOT NULL, environment TEXT NOT NULL,
    name TEXT NOT NULL, severity TEXT NOT NULL, event TEXT NOT NULL, at REAL NOT NULL, value REAL,
    detail TEXT NOT NULL)""",
    # the commit each deploy shipped (lead time for changes); a new table, so older keels simply ignore it
    "commits": """CREATE TABLE IF NOT EXISTS commits (
    rollout_id TEXT PRIMARY KEY, service TEXT NOT NULL, environment TEXT NOT NULL, sha TEXT NOT NULL,
    committed REAL, source TEXT NOT NULL)""",
    # keel secrets: each rotation's state (like a rollout's) and its steps; never a secret's value (schema 4)
    "secret_rotations": """CREATE TABLE IF NOT EXISTS secret_rotations (
    id TEXT PRIMARY KEY, service TEXT NOT NULL, secret TEXT NOT NULL, environment TEXT NOT NULL,
    phase TEXT NOT NULL, active INTEGER NOT NULL, state TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL)""",
    "secret_steps": """CREATE TABLE IF NOT EXISTS secret_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rotation_id TEXT NOT NULL, at REAL NOT NULL, from_phase TEXT NOT NULL,
    to_phase TEXT NOT NULL, reason TEXT NOT NULL)""",
}
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS rollouts_env ON rollouts (environment, created)",
    "CREATE INDEX IF NOT EXISTS rollouts_scope ON rollouts (service, environment, active)",
    "CREATE INDEX IF NOT EXISTS events_env ON events (environment, service)",
    "CREATE INDEX IF NOT EXISTS serving_env ON serving (environment, service)",
    "CREATE INDEX IF NOT EXISTS deployments_env ON deployments (environment, service, started)",
    # the dashboard's reads: covering, so a window of releases never reads the rollouts' (large) state column
    "CREATE INDEX IF NOT EXISTS rollouts_history ON rollouts "
    "(environment, created, service, kind, phase, id, revision, previous, updated)",
    "CREATE INDEX IF NOT EXISTS transitions_rollout ON transitions (rollout_id, to_phase, at, weight)",
    "CREATE INDEX IF NOT EXISTS verdicts_rollout ON verdicts (rollout_id)",
    "CREATE INDEX IF NOT EXISTS alert_history_env ON alert_history (service, environment, at)",
    "CREATE INDEX IF NOT EXISTS secret_rotations_scope ON secret_rotations (service, secret, active)",
)
_SCHEMA = ";\n".join([*_TABLES.values(), *_INDEXES])

# Schema 2 -> 3: the service of rows written before it is the one of their rollout ('' when unknown).
_SERVICE_OF_ROLLOUT = "COALESCE((SELECT r.service FROM rollouts r WHERE r.id = {table}.rollout_id), '')"
_REBUILT: dict[str, str] = {
    "revisions": "environment, name, created, status, rollout_id, spec",
    "locks": "environment, owner, host, pid, acquired, heartbeat, rollout_id",
}
# A scoped store (service given) sees its service's rows; an unscoped one (tests, tools) sees every service.
# A lock written without a service holds the environment for every service.
_IN_SCOPE = "(CAST(? AS TEXT) IS NULL OR service = ?)"
_LOCK_SCOPE = "(CAST(? AS TEXT) IS NULL OR service = ? OR service = '')"


class StoreError(KeelError):
    """The state store cannot be opened or reached, or is from a newer keel."""


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


Row = Mapping[str, Any]


class Result:
    """A statement's rows, fetched while the connection was ours (a cursor stepped later could interleave
    with the lock keep-alive thread's statements on the same connection)."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows


def _postgres_ddl(statement: str) -> str:
    """SQLite DDL in PostgreSQL's words; tables without an identity key get an insertion-order ``rowid``."""
    ddl = re.sub(r"\bREAL\b", "DOUBLE PRECISION", statement)
    if "AUTOINCREMENT" in ddl:
        return ddl.replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        )
    if ddl.lstrip().upper().startswith("CREATE TABLE"):
        end = ddl.rindex(")")
        return ddl[:end] + ", rowid BIGINT GENERATED ALWAYS AS IDENTITY" + ddl[end:]
    return ddl


def _postgres_sql(sql: str) -> str:
    """Placeholders ``?`` -> ``%s`` (keel's SQL holds no other ``?`` or ``%``)."""
    if sql.upper().startswith("INSERT OR IGNORE INTO"):
        sql = "INSERT INTO" + sql[len("INSERT OR IGNORE INTO") :] + " ON CONFLICT DO NOTHING"
    return sql.replace("?", "%s")


class Connection:
    """One connection to the store's database; every statement is written once, in SQLite's dialect with
    ``?`` placeholders, and runs under the store's mutex (the lock keep-alive thread shares it)."""

    def __init__(self, location: StoreLocation, mutex: threading.RLock) -> None:
        self.location = location
        self.postgres = isinstance(location, PostgresLocation)
        self._mutex = mutex
        self._raw: Any = self._connect()

    def _connect(self) -> Any:
        if isinstance(self.location, SqliteLocation):
            return _open_sqlite(self.location.path)
        return _open_postgres(self.location)

    def _fail(self, exc: Exception) -> StoreError:
        message = redact(" ".join(str(exc).split()), self.location)
        return StoreError(f"state store {self.location.display}: {message}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        with self._mutex:
            if not self.postgres:
                cursor = self._raw.execute(sql, params)
                return Result(cursor.fetchall(), cursor.rowcount)
            import psycopg

            try:
                if self._raw.closed:  # the server or the network dropped it since the last statement
                    self._raw = self._connect()
                cursor = self._raw.execute(_postgres_sql(sql), params)
                return Result(cursor.fetchall() if cursor.description else [], cursor.rowcount)
            except psycopg.Error as exc:
                raise self._fail(exc) from None

    def close(self) -> None:
        with self._mutex:
            self._raw.close()


def _open_sqlite(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)  # rollouts keep the revision's --set values: owner only
        db = sqlite3.connect(path, isolation_level=None, timeout=10.0, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a killed process
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"state database {path}: cannot open: {exc}") from None
    return db


def _open_postgres(location: PostgresLocation) -> Any:
    try:
        import psycopg
        from psycopg.rows import dict_row
    except ImportError:
        raise StoreError(
            f"state store {location.display}: PostgreSQL needs psycopg: pip install 'keel[postgres]'"
        ) from None
    extra: dict[str, Any] = {} if location.password is None else {"password": location.password}
    try:
        return psycopg.connect(
            location.conninfo, autocommit=True, row_factory=dict_row, connect_timeout=10,
            application_name="keel", **extra,
        )  # fmt: skip
    except psycopg.Error as exc:
        message = redact(" ".join(str(exc).split()), location)
        raise StoreError(f"state store {location.display}: cannot connect: {message}") from None


class Store:
    """keel's state, shared by every keel process of a project (SQLite: one file, WAL mode) or of a team
    (PostgreSQL: any machine, such as an ephemeral CI runner). Short transactions; each method is one.

    ``location`` is a path, a ``sqlite:///`` or ``postgresql://`` URL, or a resolved location. ``service``
    scopes the store to one service (what a shared store needs; keel's commands always pass it); without it
    the store reads every service's rows."""

    def __init__(
        self,
        location: str | Path | StoreLocation,
        *,
        service: str | None = None,
        lock_ttl: float = DEFAULT_LOCK_TTL,
    ) -> None:
        if isinstance(location, str) and "://" in location:
            location = parse_location(location, Path.cwd())
        elif isinstance(location, str | Path):
            location = SqliteLocation(Path(location))
        self.location: StoreLocation = location
        self.service = service
        self.lock_ttl = lock_ttl
        self.path = location.path if isinstance(location, SqliteLocation) else None
        self._mutex = threading.RLock()
        self._db = Connection(location, self._mutex)
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    @property
    def shared(self) -> bool:
        """True when other machines may use this store too: their lock holders cannot be checked by pid."""
        return self._db.postgres

    @property
    def _scope(self) -> tuple[str | None, str | None]:
        return (self.service, self.service)

    @property
    def _service(self) -> str:
        return self.service or ""

    def _current(self) -> bool:
        """The schema is this keel's and every table exists: nothing to create (PostgreSQL checks the CREATE
        privilege even for CREATE TABLE IF NOT EXISTS, and a team's keel role may only read and write)."""
        db = self._db
        if db.postgres:
            query = "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = {str(r["name"]) for r in db.execute(query).fetchall()}
        if not tables >= set(_TABLES):
            return False
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return row is not None and int(row["value"]) == SCHEMA_VERSION

    def _migrate(self) -> None:
        if self._current():
            return
        with self.transaction(migrating=True) as db:
            for statement in _TABLES.values():
                db.execute(_postgres_ddl(statement) if db.postgres else statement)
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            found = int(row["value"]) if row is not None else None
            if found is not None and found > SCHEMA_VERSION:
                raise StoreError(
                    f"state database {self.location.display}: schema version {found} is newer than this keel "
                    f"({SCHEMA_VERSION}); upgrade keel"
                )
            self._upgrade_columns(db)
            for statement in _INDEXES:
                db.execute(statement)
            if found is None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif found < SCHEMA_VERSION:
                db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def _columns(self, db: Connection, table: str) -> set[str]:
        if db.postgres:
            rows = db.execute(
                "SELECT column_name AS name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?",
                (table,),
            ).fetchall()
        else:
            rows = db.execute(f"PRAGMA table_info({table})").fetchall()
        return {str(r["name"]) for r in rows}

    def _upgrade_columns(self, db: Connection) -> None:
        """Bring tables made by an older keel to this schema (each step is idempotent)."""
        if "weight" not in self._columns(db, "transitions"):  # 1 -> 2: the new revision's weight
            db.execute("ALTER TABLE transitions ADD COLUMN weight INTEGER")
        for table in ("events", "serving"):  # 2 -> 3: the service of each row
            if "service" not in self._columns(db, table):
                db.execute(f"ALTER TABLE {table} ADD COLUMN service TEXT NOT NULL DEFAULT ''")
                # table and column names are this module's constants, never input
                backfill = f"UPDATE {table} SET service = {_SERVICE_OF_ROLLOUT.format(table=table)}"  # noqa: S608  # nosec B608
                db.execute(backfill)
        for table, columns in _REBUILT.items():  # 2 -> 3: the service joins the key (SQLite: a new table)
            if "service" in self._columns(db, table):
                continue
            service = _SERVICE_OF_ROLLOUT.format(table="old") if "rollout_id" in columns else "''"
            db.execute(f"ALTER TABLE {table} RENAME TO {table}_v2")
            create = _TABLES[table]
            db.execute(_postgres_ddl(create) if db.postgres else create)
            # table and column names are this module's constants (_REBUILT), never input
            copy = (
                f"INSERT INTO {table} (service, {columns}) "  # noqa: S608  # nosec B608
                f"SELECT {service}, {columns} FROM {table}_v2 old ORDER BY old.rowid"
            )
            db.execute(copy)
            db.execute(f"DROP TABLE {table}_v2")

    @property
    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row["value"])

    @contextmanager
    def transaction(self, *, migrating: bool = False, locking: bool = False) -> Iterator[Connection]:
        """One transaction. SQLite: IMMEDIATE, so writers queue on the database lock instead of failing halfway.
        PostgreSQL: READ COMMITTED; schema changes serialize on an advisory lock, lock changes on the locks
        table (the same effect as SQLite's writer lock for the lock's read-check-write)."""
        db = self._db
        with self._mutex:
            if db.postgres:
                db.execute("BEGIN")
                try:
                    if migrating:
                        db.execute("SELECT pg_advisory_xact_lock(7361)")  # 'keel': one migrator at a time
                    if locking:
                        db.execute("LOCK TABLE locks IN SHARE ROW EXCLUSIVE MODE")
                except BaseException:
                    self._rollback()
                    raise
            else:
                db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                self._rollback()
                raise
            db.execute("COMMIT")

    def _rollback(self) -> None:
        with suppress(StoreError, sqlite3.Error):  # the connection itself failed: nothing to roll back on it
            self._db.execute("ROLLBACK")

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
                "INSERT INTO rollouts (id, environment, service, kind, revision, previous, phase, active, state, "
                "created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
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
    def _rollout(r: Row) -> RolloutRow:
        return RolloutRow(
            r["id"], r["environment"], r["service"], r["kind"], r["revision"], r["previous"], r["phase"],
            bool(r["active"]), json.loads(r["state"]), r["created"], r["updated"],
        )  # fmt: skip

    def rollout(self, rollout_id: str) -> RolloutRow | None:
        r = self._db.execute("SELECT * FROM rollouts WHERE id=?", (rollout_id,)).fetchone()
        return self._rollout(r) if r else None

    def active_rollout(self, environment: str) -> RolloutRow | None:
        r = self._db.execute(
            "SELECT * FROM rollouts WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ?) "
            "AND active=1 ORDER BY created DESC LIMIT 1",
            (environment, *self._scope),
        ).fetchone()
        return self._rollout(r) if r else None

    def rollouts(self, environment: str, limit: int = 50) -> list[RolloutRow]:
        rows = self._db.execute(
            "SELECT * FROM rollouts WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ?) "
            "ORDER BY created DESC, rowid DESC LIMIT ?",
            (environment, *self._scope, limit),
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
            "SELECT COUNT(*) AS n FROM rollouts WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ?)",
            (environment, *self._scope),
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
            self._insert_event(db, self._service, environment, kind, message, at, rollout_id, data)

    @staticmethod
    def _insert_event(
        db: Connection,
        service: str,
        environment: str,
        kind: str,
        message: str,
        at: float,
        rollout_id: str | None,
        data: dict[str, Any],
    ) -> None:
        db.execute(
            "INSERT INTO events (service, rollout_id, environment, at, kind, message, data) "
            "VALUES (?,?,?,?,?,?,?)",
            (service, rollout_id, environment, at, kind, message, json.dumps(data, default=str)),
        )

    def events(self, environment: str, rollout_id: str | None = None) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT rollout_id, at, kind, message, data FROM events "
            "WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ?) "
            "AND (CAST(? AS TEXT) IS NULL OR rollout_id = ?) ORDER BY id",
            (environment, *self._scope, rollout_id, rollout_id),
        ).fetchall()
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    # --- revisions and what served --------------------------------------------------------------------------

    def record_revision(
        self, environment: str, name: str, created: float, rollout_id: str | None, spec: dict[str, Any]
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO revisions (service, environment, name, created, status, rollout_id, spec) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (self._service, environment, name, created, "deployed", rollout_id, json.dumps(spec)),
            )

    def set_revision_status(self, environment: str, name: str, status: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE revisions SET status=? WHERE environment=? AND name=? "
                "AND (CAST(? AS TEXT) IS NULL OR service = ?)",
                (status, environment, name, *self._scope),
            )

    def revision_status(self, environment: str, name: str) -> str | None:
        r = self._db.execute(
            "SELECT status FROM revisions WHERE environment=? AND name=? "
            "AND (CAST(? AS TEXT) IS NULL OR service = ?)",
            (environment, name, *self._scope),
        ).fetchone()
        return str(r["status"]) if r else None

    def revisions(self, environment: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT name, created, status, rollout_id FROM revisions "
            "WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ?) ORDER BY created, rowid",
            (environment, *self._scope),
        ).fetchall()
        return [dict(r) for r in rows]

    def record_serving(
        self, environment: str, revision: str, since: float, rollout_id: str | None, reason: str
    ) -> None:
        """Note that ``revision`` took 100 % of traffic (unless it already was the last one noted)."""
        with self.transaction() as db:
            last = db.execute(
                "SELECT revision FROM serving WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ?) "
                "ORDER BY id DESC LIMIT 1",
                (environment, *self._scope),
            ).fetchone()
            if last is None or last["revision"] != revision:
                db.execute(
                    "INSERT INTO serving (service, environment, revision, since, rollout_id, reason) "
                    "VALUES (?,?,?,?,?,?)",
                    (self._service, environment, revision, since, rollout_id, reason),
                )

    def serving_history(self, environment: str) -> list[ServingRow]:
        """Revisions that held all traffic, newest first."""
        rows = self._db.execute(
            "SELECT environment, revision, since, rollout_id, reason FROM serving "
            "WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ?) ORDER BY id DESC",
            (environment, *self._scope),
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
                "INSERT INTO deployments (rollout_id, environment, service, revision, previous, started, "
                "finished, outcome, rolled_back) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (rollout_id) DO UPDATE "
                "SET environment=excluded.environment, service=excluded.service, revision=excluded.revision, "
                "previous=excluded.previous, started=excluded.started, finished=excluded.finished, "
                "outcome=excluded.outcome, rolled_back=excluded.rolled_back",
                (
                    rollout_id, environment, service, revision, previous, started, finished, outcome,
                    int(rolled_back),
                ),
            )  # fmt: skip

    def deployments(self, environment: str | None = None) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT rollout_id, environment, service, revision, previous, started, finished, outcome, "
            "rolled_back FROM deployments WHERE (CAST(? AS TEXT) IS NULL OR environment = ?) "
            "AND (CAST(? AS TEXT) IS NULL OR service = ?) ORDER BY started",
            (environment, environment, *self._scope),
        ).fetchall()
        return [{**dict(r), "rolled_back": bool(r["rolled_back"])} for r in rows]

    def record_commit(
        self, rollout_id: str, environment: str, sha: str, committed: float | None, source: str
    ) -> None:
        """The commit a deploy ships (``committed``: its commit time, None when unknown)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO commits (rollout_id, service, environment, sha, committed, source) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (rollout_id) DO NOTHING",
                (rollout_id, self._service, environment, sha, committed, source),
            )

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only statement written in keel's SQL (``?`` placeholders; readers such as the
        dashboard aggregate in the database rather than reading every row)."""
        return [dict(r) for r in self._db.execute(sql, params).fetchall()]

    # --- locks -----------------------------------------------------------------------------------------------

    @staticmethod
    def _lock(r: Row) -> LockInfo:
        return LockInfo(
            r["environment"], r["owner"], r["host"], r["pid"], r["acquired"], r["heartbeat"], r["rollout_id"]
        )

    def _locks(self, db: Connection, environment: str) -> list[tuple[str, LockInfo]]:
        rows = db.execute(
            "SELECT * FROM locks WHERE environment=? AND (CAST(? AS TEXT) IS NULL OR service = ? OR service = '') "
            "ORDER BY service DESC",
            (environment, *self._scope),
        ).fetchall()
        return [(str(r["service"]), self._lock(r)) for r in rows]

    def lock(self, environment: str) -> LockInfo | None:
        """Who holds the environment (for this store's service; a lock taken without one counts too)."""
        locks = self._locks(self._db, environment)
        return locks[0][1] if locks else None

    def try_lock(
        self, wanted: LockInfo, is_stale: Callable[[LockInfo], bool]
    ) -> tuple[bool, LockInfo | None]:
        """Take the environment's lock unless a live holder has it. Returns (taken, the lock replaced or held).
        A stale lock taken over is recorded as a ``lock_taken_over`` event of the environment."""
        with self.transaction(locking=True) as db:
            held = self._locks(db, wanted.environment)
            others = [(service, lock) for service, lock in held if lock.owner != wanted.owner]
            for _, lock in others:
                if not is_stale(lock):
                    return False, lock
            for service, lock in others:
                db.execute(
                    "DELETE FROM locks WHERE service=? AND environment=? AND owner=?",
                    (service, lock.environment, lock.owner),
                )
                self._insert_event(
                    db, service, lock.environment, "lock_taken_over",
                    f"stale lock of {lock.owner} (pid {lock.pid} on {lock.host}) taken over by {wanted.owner}",
                    wanted.acquired, lock.rollout_id,
                    {"owner": lock.owner, "host": lock.host, "pid": lock.pid, "acquired": lock.acquired,
                     "heartbeat": lock.heartbeat, "by": wanted.owner, "by_host": wanted.host},
                )  # fmt: skip
            db.execute(
                "INSERT INTO locks (service, environment, owner, host, pid, acquired, heartbeat, rollout_id) "
                "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (service, environment) DO UPDATE SET owner=excluded.owner, "
                "host=excluded.host, pid=excluded.pid, acquired=excluded.acquired, "
                "heartbeat=excluded.heartbeat, rollout_id=excluded.rollout_id",
                (
                    self._service, wanted.environment, wanted.owner, wanted.host, wanted.pid, wanted.acquired,
                    wanted.heartbeat, wanted.rollout_id,
                ),
            )  # fmt: skip
            replaced = others[0][1] if others else (held[0][1] if held else None)
            return True, replaced

    def heartbeat(self, environment: str, owner: str, at: float, rollout_id: str | None = None) -> bool:
        """Refresh the holder's heartbeat; False when ``owner`` no longer holds the lock (taken over)."""
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
            db.execute(
                _SAVE_ALERT,
                (
                    row.key, row.service, row.environment, row.name, row.severity, row.state, row.active_count,
                    row.active_since, row.fired_at, row.last_active, row.last_notified, row.notifications,
                    row.value, row.detail,
                ),
            )  # fmt: skip

    def alerts(self, service: str, environment: str) -> list[AlertRow]:
        """Alerts not inactive (pending or firing) of one service and environment."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT key, service, environment, name, severity, state, active_count, active_since, fired_at, "
                "last_active, last_notified, notifications, value, detail FROM alerts "
                "WHERE service=? AND environment=? AND state != 'inactive' ORDER BY key",
                (service, environment),
            ).fetchall()
        return [AlertRow(**dict(r)) for r in rows]

    def add_alert_event(
        self, row: AlertRow, event: str, at: float, value: float | None, detail: str = ""
    ) -> None:
        """One line of an alert's history: fired, notified, repeated, resolved."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO alert_history (key, service, environment, name, severity, event, at, value, detail)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (row.key, row.service, row.environment, row.name, row.severity, event, at, value, detail),
            )

    def alert_history(self, service: str, environment: str, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT key, name, severity, event, at, value, detail FROM alert_history"
                " WHERE service=? AND environment=? ORDER BY id DESC LIMIT ?",
                (service, environment, limit),
            ).fetchall()
        return [dict(r) for r in rows]


# An upsert both databases speak (SQLite >= 3.24 and PostgreSQL): the alert's row by (key, service, environment).
_SAVE_ALERT = (
    "INSERT INTO alerts (key, service, environment, name, severity, state, active_count, active_since, fired_at, "
    "last_active, last_notified, notifications, value, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (key, service, environment) DO UPDATE SET name=excluded.name, severity=excluded.severity, "
    "state=excluded.state, active_count=excluded.active_count, active_since=excluded.active_since, "
    "fired_at=excluded.fired_at, last_active=excluded.last_active, last_notified=excluded.last_notified, "
    "notifications=excluded.notifications, value=excluded.value, detail=excluded.detail"
)


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
