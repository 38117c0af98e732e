"""The store on both backends (a SQLite file, a real PostgreSQL database): versioned schema, rollouts with
transitions, verdicts, events, serving history, locks, services kept apart; SQLite files from older keels."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from keel.store import SCHEMA_VERSION, LockInfo, RolloutRow, Store, StoreError

OpenStore = Callable[..., Store]


def row(
    rollout_id: str = "r-1", env: str = "local", created: float = 1.0, service: str = "svc"
) -> RolloutRow:
    return RolloutRow(
        rollout_id, env, service, "deploy", "svc-1", None, "pending", True, {"a": 1}, created, created
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One empty store, as the URL keel.yaml would name it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'keel.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def open_store(store_url: str) -> OpenStore:
    """Opens the same store again, as another keel process (or machine) would."""

    def make(**kwargs: object) -> Store:
        return Store(store_url, **kwargs)  # type: ignore[arg-type]

    return make


def raw_sql(store_url: str, sql: str) -> None:
    """Change the database behind keel's back (an older or newer keel's doing)."""
    if store_url.startswith("sqlite"):
        db = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        db.execute(sql)
        db.commit()
        db.close()
        return
    import psycopg

    with psycopg.connect(store_url.replace("+asyncpg", ""), autocommit=True) as db:
        db.execute(sql)  # type: ignore[arg-type]


def test_schema_is_versioned_and_reopening_keeps_data(open_store: OpenStore) -> None:
    with open_store() as store:
        assert store.schema_version == SCHEMA_VERSION
        store.insert_rollout(row())
    with open_store() as store:
        assert store.rollout("r-1") is not None


def test_the_file_is_private(tmp_path: Path) -> None:
    Store(tmp_path / "state" / "keel.db").close()
    assert (tmp_path / "state" / "keel.db").stat().st_mode & 0o077 == 0


def test_a_newer_schema_is_refused(open_store: OpenStore, store_url: str) -> None:
    open_store().close()
    raw_sql(store_url, "UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        open_store()


def test_transitions_are_saved_with_the_state_atomically(open_store: OpenStore) -> None:
    store = open_store()
    store.insert_rollout(row())
    store.save_transition(
        "r-1", from_phase="pending", to_phase="deploying", reason="go", active=True, state={"b": 2}, at=5.0,
        previous="svc-0", weight=10,
    )  # fmt: skip
    store.save_transition(
        "r-1", from_phase="deploying", to_phase="deploying", reason="", active=True, state={"b": 3}, at=6.0,
        previous="svc-0",
    )  # fmt: skip
    saved = store.rollout("r-1")
    assert (
        saved is not None
        and saved.phase == "deploying"
        and saved.state == {"b": 3}
        and saved.previous == "svc-0"
    )
    assert store.transitions("r-1") == [
        {"at": 5.0, "from_phase": "pending", "to_phase": "deploying", "reason": "go", "weight": 10}
    ]
    assert store.active_rollout("local") is not None
    store.save_transition(
        "r-1",
        from_phase="deploying",
        to_phase="failed",
        reason="x",
        active=False,
        state={},
        at=7.0,
        previous=None,
    )
    assert store.active_rollout("local") is None


def test_a_failed_transaction_leaves_nothing(open_store: OpenStore) -> None:
    store = open_store()
    store.insert_rollout(row())
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("UPDATE rollouts SET phase='half' WHERE id='r-1'")
        raise RuntimeError("killed halfway")
    assert store.rollout("r-1").phase == "pending"  # type: ignore[union-attr]
    store.insert_rollout(row("r-2", created=2.0))  # the connection is usable afterwards
    assert store.count_rollouts("local") == 2


def test_verdicts_events_and_deployments(open_store: OpenStore) -> None:
    store = open_store()
    store.add_verdict("r-1", 0, 1, 3.0, "pass", {"summary": "ok"})
    assert store.verdicts("r-1")[0]["verdict"] == {"summary": "ok"}
    store.add_event("local", "promoted", "done", 4.0, "r-1", {"weight": 100})
    store.add_event("staging", "promoted", "done", 4.0, "r-9", {})
    store.add_event("local", "note", "other", 5.0, "r-2", {})
    assert [e["data"] for e in store.events("local")] == [{"weight": 100}, {}]
    assert [e["message"] for e in store.events("local", "r-2")] == ["other"]
    store.record_deployment("r-1", "local", "svc", "svc-1", None, 1.0, 9.0, "promoted", False)
    store.record_deployment("r-1", "local", "svc", "svc-1", None, 1.0, 10.0, "promoted", False)
    store.record_deployment("r-2", "staging", "svc", "svc-2", "svc-1", 2.0, 11.0, "rolled_back", True)
    assert [(d["finished"], d["rolled_back"]) for d in store.deployments("local")] == [(10.0, False)]
    assert [d["rollout_id"] for d in store.deployments()] == ["r-1", "r-2"]
    assert store.deployments("staging")[0] == {
        "rollout_id": "r-2", "environment": "staging", "service": "svc", "revision": "svc-2",
        "previous": "svc-1", "started": 2.0, "finished": 11.0, "outcome": "rolled_back", "rolled_back": True,
    }  # fmt: skip


def test_revisions_keep_their_first_record_and_status(open_store: OpenStore) -> None:
    store = open_store(service="svc")
    store.record_revision("local", "svc-1", 1.0, "r-1", {"image": "a"})
    store.record_revision("local", "svc-1", 5.0, "r-9", {"image": "b"})  # recorded once
    store.record_revision("local", "svc-2", 2.0, "r-2", {})
    store.set_revision_status("local", "svc-1", "serving")
    assert store.revision_status("local", "svc-1") == "serving"
    assert store.revision_status("local", "nope") is None
    assert [(r["name"], r["created"], r["status"]) for r in store.revisions("local")] == [
        ("svc-1", 1.0, "serving"),
        ("svc-2", 2.0, "deployed"),
    ]


def test_serving_history_ignores_repeats(open_store: OpenStore) -> None:
    store = open_store()
    for name in ["a", "a", "b", "a"]:
        store.record_serving("local", name, 1.0, None, "promoted")
    assert [s.revision for s in store.serving_history("local")] == ["a", "b", "a"]


def test_two_processes_share_the_store(open_store: OpenStore) -> None:
    one, two = open_store(), open_store()
    one.insert_rollout(row("r-1"))
    two.insert_rollout(row("r-2", created=2.0))
    two.insert_rollout(row("r-3", created=2.0))  # same time: the later insert is newer
    assert [r.id for r in one.rollouts("local")] == ["r-3", "r-2", "r-1"]
    assert one.count_rollouts("local") == 3


def test_services_sharing_a_store_keep_apart(open_store: OpenStore) -> None:
    """A team's PostgreSQL store holds several services: each sees its own rollouts, revisions, history and
    lock of an environment of the same name; a store opened without a service sees all of them."""
    api, web, every = open_store(service="api"), open_store(service="web"), open_store()
    api.insert_rollout(row("r-a", service="api"))
    web.insert_rollout(row("r-w", service="web", created=2.0))
    assert api.active_rollout("staging") is None
    assert api.active_rollout("local").id == "r-a"  # type: ignore[union-attr]
    assert [r.id for r in web.rollouts("local")] == ["r-w"] and web.count_rollouts("local") == 1
    assert [r.id for r in every.rollouts("local")] == ["r-w", "r-a"]
    for store, name in ((api, "api-1"), (web, "web-1")):
        store.record_revision("local", name, 1.0, None, {})
        store.record_serving("local", name, 1.0, None, "promoted")
        store.add_event("local", "promoted", name, 1.0, None, {})
    assert [r["name"] for r in api.revisions("local")] == ["api-1"]
    assert [s.revision for s in web.serving_history("local")] == ["web-1"]
    assert [e["message"] for e in api.events("local")] == ["api-1"]

    def lock(owner: str) -> LockInfo:
        return LockInfo("local", owner, "h", 1, 1.0, 1.0, None)

    assert api.try_lock(lock("api-deploy"), lambda _: False) == (True, None)
    assert web.try_lock(lock("web-deploy"), lambda _: False) == (True, None)  # another service: free
    assert api.lock("local").owner == "api-deploy"  # type: ignore[union-attr]
    taken, held = every.try_lock(lock("tool"), lambda _: False)  # without a service: the whole environment
    assert not taken and held is not None and held.owner in {"api-deploy", "web-deploy"}


def test_a_lock_is_held_refreshed_taken_over_and_released(open_store: OpenStore) -> None:
    store = open_store(service="svc")
    first = LockInfo("prod", "deploy:1@a:x", "a", 1, 10.0, 10.0, "r-1")
    assert store.try_lock(first, lambda _: False) == (True, None)
    assert store.try_lock(first, lambda _: False) == (True, first)  # re-entrant for its owner
    second = LockInfo("prod", "deploy:2@b:y", "b", 2, 20.0, 20.0, None)
    assert store.try_lock(second, lambda _: False) == (False, first)
    assert store.heartbeat("prod", first.owner, 30.0, "r-1b")
    assert store.lock("prod") == LockInfo("prod", first.owner, "a", 1, 10.0, 30.0, "r-1b")
    taken, replaced = store.try_lock(second, lambda lock: lock.heartbeat < 40.0)
    assert taken and replaced is not None and replaced.owner == first.owner
    assert not store.heartbeat("prod", first.owner, 41.0)  # the old holder learns it lost the lock
    (event,) = store.events("prod")
    assert event["kind"] == "lock_taken_over" and event["rollout_id"] == "r-1b"
    assert event["data"]["host"] == "a" and event["data"]["by_host"] == "b"
    store.release_lock("prod", first.owner)  # not its lock any more: nothing happens
    assert store.lock("prod").owner == second.owner  # type: ignore[union-attr]
    store.release_lock("prod", second.owner)
    assert store.lock("prod") is None


def test_unopenable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open"):
        Store(blocker / "keel.db")


@pytest.mark.postgres
def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    from keel.storeconfig import PostgresLocation
    from tests.support.postgres import free_port

    location = PostgresLocation(f"postgresql://keel@127.0.0.1:{free_port()}/keel", password="hunter2-secret")
    with pytest.raises(StoreError) as info:
        Store(location, service="svc")
    message = str(info.value)
    assert message.startswith(f"state store {location.display}: cannot connect")
    assert "hunter2" not in message


def test_a_schema_1_database_gains_transition_weights(tmp_path: Path) -> None:
    path = tmp_path / "keel.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE transitions (id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, "
        "at REAL NOT NULL, from_phase TEXT NOT NULL, to_phase TEXT NOT NULL, reason TEXT NOT NULL);"
        "INSERT INTO transitions (rollout_id, at, from_phase, to_phase, reason) "
        "VALUES ('r-1', 1.0, 'pending', 'deploying', 'old');"
    )
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        assert store.transitions("r-1") == [
            {"at": 1.0, "from_phase": "pending", "to_phase": "deploying", "reason": "old", "weight": None}
        ]


SCHEMA_2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rollouts (
    id TEXT PRIMARY KEY, environment TEXT NOT NULL, service TEXT NOT NULL, kind TEXT NOT NULL,
    revision TEXT NOT NULL, previous TEXT, phase TEXT NOT NULL, active INTEGER NOT NULL,
    state TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX rollouts_env ON rollouts (environment, created);
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT NOT NULL, at REAL NOT NULL,
    from_phase TEXT NOT NULL, to_phase TEXT NOT NULL, reason TEXT NOT NULL, weight INTEGER);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rollout_id TEXT, environment TEXT NOT NULL, at REAL NOT NULL,
    kind TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE revisions (
    environment TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL, status TEXT NOT NULL,
    rollout_id TEXT, spec TEXT NOT NULL, PRIMARY KEY (environment, name));
CREATE TABLE serving (
    id INTEGER PRIMARY KEY AUTOINCREMENT, environment TEXT NOT NULL, revision TEXT NOT NULL,
    since REAL NOT NULL, rollout_id TEXT, reason TEXT NOT NULL);
CREATE TABLE locks (
    environment TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    acquired REAL NOT NULL, heartbeat REAL NOT NULL, rollout_id TEXT);
INSERT INTO meta VALUES ('schema_version', '2');
INSERT INTO rollouts VALUES ('r-1', 'prod', 'svc', 'deploy', 'svc-2', 'svc-1', 'holding', 1, '{}', 5.0, 6.0);
INSERT INTO events (rollout_id, environment, at, kind, message, data) VALUES ('r-1', 'prod', 5.0, 'k', 'm', '{}');
INSERT INTO revisions VALUES ('prod', 'svc-1', 1.0, 'serving', 'r-0', '{}');
INSERT INTO revisions VALUES ('prod', 'svc-2', 5.0, 'deployed', 'r-1', '{}');
INSERT INTO serving (environment, revision, since, rollout_id, reason) VALUES ('prod', 'svc-1', 1.0, NULL, 'x');
INSERT INTO locks VALUES ('prod', 'deploy:7@h:t', 'h', 7, 5.0, 6.0, 'r-1');
"""


def test_a_schema_2_file_keeps_its_rollout_lock_and_history(tmp_path: Path) -> None:
    """An unfinished rollout and its lock recorded by the previous keel are still found through the service
    the spec names (rows of unknown service stay visible to an unscoped store)."""
    path = tmp_path / "keel.db"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_2)
    db.close()
    with Store(path, service="svc") as store:
        assert store.schema_version == 4
        assert store.active_rollout("prod").id == "r-1"  # type: ignore[union-attr]
        assert [r["name"] for r in store.revisions("prod")] == ["svc-2"]  # svc-1's rollout r-0 is unknown
        assert [e["message"] for e in store.events("prod")] == ["m"]
        assert store.lock("prod") == LockInfo("prod", "deploy:7@h:t", "h", 7, 5.0, 6.0, "r-1")
        store.record_revision("prod", "svc-3", 9.0, "r-3", {})
    with Store(path) as store:
        assert [r["name"] for r in store.revisions("prod")] == ["svc-1", "svc-2", "svc-3"]
        assert [s.revision for s in store.serving_history("prod")] == ["svc-1"]
    with Store(path) as store:  # opening again changes nothing
        assert store.schema_version == 4 and len(store.revisions("prod")) == 3


@pytest.mark.postgres
def test_a_role_that_may_only_read_and_write_opens_a_migrated_store(postgres_url: str) -> None:
    """keel's tables made once by the owner; runners then connect as a role without CREATE."""
    Store(postgres_url, service="svc").close()
    raw_sql(postgres_url, "DROP ROLE IF EXISTS keel_runner")
    raw_sql(postgres_url, "CREATE ROLE keel_runner LOGIN")
    raw_sql(postgres_url, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    raw_sql(
        postgres_url, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO keel_runner"
    )
    raw_sql(postgres_url, "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO keel_runner")
    runner_url = postgres_url.replace("postgres@", "keel_runner@")
    with Store(runner_url, service="svc") as store:
        store.insert_rollout(row())
        store.add_event("local", "k", "m", 1.0, "r-1", {})
        assert store.active_rollout("local") is not None


def test_alert_state_and_history_on_both_backends(open_store: OpenStore) -> None:
    from dataclasses import replace

    from keel.store import AlertRow

    store = open_store()
    row = AlertRow("HighErrorRate", "svc", "prod", "HighErrorRate", "page", "firing", 3, 10.0, 12.0, 12.0)
    store.save_alert(row)
    store.save_alert(replace(row, notifications=1, last_notified=13.0))  # an upsert, not a second row
    (saved,) = store.alerts("svc", "prod")
    assert saved.notifications == 1 and saved.last_notified == 13.0
    store.add_alert_event(saved, "fired", 12.0, 0.07)
    store.add_alert_event(saved, "resolved", 40.0, 0.0)
    assert [e["event"] for e in store.alert_history("svc", "prod")] == ["resolved", "fired"]
    store.save_alert(replace(saved, state="inactive"))
    assert store.alerts("svc", "prod") == []
    store.close()
