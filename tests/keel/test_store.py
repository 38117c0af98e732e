"""The SQLite store: versioned schema, rollouts with transitions, verdicts, events, serving history, locks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from keel.store import SCHEMA_VERSION, RolloutRow, Store, StoreError


def row(rollout_id: str = "r-1", env: str = "local", created: float = 1.0) -> RolloutRow:
    return RolloutRow(
        rollout_id, env, "svc", "deploy", "svc-1", None, "pending", True, {"a": 1}, created, created
    )


def test_schema_is_versioned_and_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "state" / "keel.db"
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        store.insert_rollout(row())
    with Store(path) as store:
        assert store.rollout("r-1") is not None


def test_the_file_is_private(tmp_path: Path) -> None:
    Store(tmp_path / "state" / "keel.db").close()
    assert (tmp_path / "state" / "keel.db").stat().st_mode & 0o077 == 0


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keel.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        Store(path)


def test_transitions_are_saved_with_the_state_atomically(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    store.insert_rollout(row())
    store.save_transition(
        "r-1", from_phase="pending", to_phase="deploying", reason="go", active=True, state={"b": 2}, at=5.0,
        previous="svc-0",
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
    assert [(t["from_phase"], t["to_phase"], t["reason"]) for t in store.transitions("r-1")] == [
        ("pending", "deploying", "go")
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


def test_verdicts_events_and_deployments(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    store.add_verdict("r-1", 0, 1, 3.0, "pass", {"summary": "ok"})
    assert store.verdicts("r-1")[0]["verdict"] == {"summary": "ok"}
    store.add_event("local", "promoted", "done", 4.0, "r-1", {"weight": 100})
    store.add_event("staging", "promoted", "done", 4.0, "r-9", {})
    assert [e["data"] for e in store.events("local")] == [{"weight": 100}]
    store.record_deployment("r-1", "local", "svc", "svc-1", None, 1.0, 9.0, "promoted", False)
    store.record_deployment("r-1", "local", "svc", "svc-1", None, 1.0, 10.0, "promoted", False)
    assert [(d["finished"], d["rolled_back"]) for d in store.deployments("local")] == [(10.0, False)]


def test_serving_history_ignores_repeats(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    for name in ["a", "a", "b", "a"]:
        store.record_serving("local", name, 1.0, None, "promoted")
    assert [s.revision for s in store.serving_history("local")] == ["a", "b", "a"]


def test_two_processes_share_the_file(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "k.db"), Store(tmp_path / "k.db")
    one.insert_rollout(row("r-1"))
    two.insert_rollout(row("r-2", created=2.0))
    assert [r.id for r in one.rollouts("local")] == ["r-2", "r-1"]
    assert one.count_rollouts("local") == 2


def test_unopenable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open"):
        Store(blocker / "keel.db")


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
        assert store.schema_version == SCHEMA_VERSION == 2
        assert store.transitions("r-1") == [
            {"at": 1.0, "from_phase": "pending", "to_phase": "deploying", "reason": "old", "weight": None}
        ]
