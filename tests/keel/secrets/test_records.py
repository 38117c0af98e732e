"""Rotations in keel's store, on SQLite and PostgreSQL: one active rotation per secret, steps in order, and a
schema 3 store gains the tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from keel.secrets.config import SecretType
from keel.secrets.errors import RotationRefused
from keel.secrets.records import RotationRecords
from keel.secrets.state import Rotation, RotationPhase
from keel.store import SCHEMA_VERSION, Store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return Store(tmp_path / "keel.db", service="svc")
    return Store(str(request.getfixturevalue("postgres_url")), service="svc")


def rotation(rid: str, secret: str = "jwt", phase: RotationPhase = RotationPhase.CREATING) -> Rotation:
    return Rotation(rid, "svc", secret, secret, SecretType.JWT, "local", phase, 10.0, 10.0, old_version=1)


def test_rotations_and_their_steps(store: Store) -> None:
    records = RotationRecords(store, "svc")
    first = rotation("s-1")
    records.start(first)
    with pytest.raises(RotationRefused, match="s-1 is creating"):
        records.start(rotation("s-2"))
    records.start(rotation("s-3", secret="openai"))  # another secret may rotate meanwhile
    moved = Rotation.from_json({**first.to_json(), "phase": "deploying", "updated": 11.0, "new_version": 2})
    records.save(moved, RotationPhase.CREATING, "version 2 stored as pending")
    records.save(moved, None, "")  # a save without a phase change adds no step
    active = records.active("jwt")
    assert active == moved
    assert [s["to_phase"] for s in records.steps("s-1")] == ["deploying"]
    done = Rotation.from_json({**moved.to_json(), "phase": "done", "updated": 12.0})
    records.save(done, RotationPhase.DEPLOYING, "done")
    assert records.active("jwt") is None
    assert [r.id for r in records.history()] in (["s-1", "s-3"], ["s-3", "s-1"])
    assert RotationRecords(store, "other").active("openai") is None  # scoped by service
    store.close()


def test_a_schema_3_store_gains_the_rotation_tables(tmp_path: Path) -> None:
    path = tmp_path / "keel.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE secret_rotations; DROP TABLE secret_steps; UPDATE meta SET value='3';")
    db.commit()
    db.close()
    with Store(path, service="svc") as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        RotationRecords(store, "svc").start(rotation("s-9"))
