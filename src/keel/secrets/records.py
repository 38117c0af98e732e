"""Rotations in keel's store (tables ``secret_rotations`` and ``secret_steps``, schema 4)."""

from __future__ import annotations

import json
from typing import Any

from keel.secrets.errors import RotationRefused
from keel.secrets.state import Rotation, RotationPhase
from keel.store import Store


class RotationRecords:
    """One service's rotations. ``start`` refuses a second active rotation of one secret."""

    def __init__(self, store: Store, service: str) -> None:
        self.store = store
        self.service = service

    def start(self, rotation: Rotation) -> None:
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT id, phase FROM secret_rotations WHERE service=? AND secret=? AND active=1",
                (self.service, rotation.secret),
            ).fetchone()
            if row is not None:
                raise RotationRefused(
                    f"secret {rotation.secret}: rotation {row['id']} is {row['phase']}: finish it with "
                    f"keel secrets rotate {rotation.secret} --resume"
                )
            db.execute(
                "INSERT INTO secret_rotations (id, service, secret, environment, phase, active, state, created, "
                "updated) VALUES (?,?,?,?,?,?,?,?,?)",
                (rotation.id, self.service, rotation.secret, rotation.environment, rotation.phase.value, 1,
                 rotation.dumps(), rotation.created, rotation.updated),
            )  # fmt: skip

    def save(self, rotation: Rotation, previous: RotationPhase | None, reason: str) -> None:
        """The rotation's new state, and one step row when the phase changed; in one transaction."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE secret_rotations SET phase=?, active=?, state=?, updated=? WHERE id=?",
                (rotation.phase.value, 0 if rotation.phase.terminal else 1, rotation.dumps(), rotation.updated,
                 rotation.id),
            )  # fmt: skip
            if previous is not None and previous is not rotation.phase:
                db.execute(
                    "INSERT INTO secret_steps (rotation_id, at, from_phase, to_phase, reason) VALUES (?,?,?,?,?)",
                    (rotation.id, rotation.updated, previous.value, rotation.phase.value, reason),
                )

    def active(self, secret: str) -> Rotation | None:
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT state FROM secret_rotations WHERE service=? AND secret=? AND active=1",
                (self.service, secret),
            ).fetchone()
        return None if row is None else Rotation.from_json(json.loads(row["state"]))

    def history(self, secret: str | None = None, limit: int = 50) -> list[Rotation]:
        """Newest first."""
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT state FROM secret_rotations WHERE service=? AND (CAST(? AS TEXT) IS NULL OR secret=?) "
                "ORDER BY created DESC LIMIT ?",
                (self.service, secret, secret, limit),
            ).fetchall()
        return [Rotation.from_json(json.loads(r["state"])) for r in rows]

    def steps(self, rotation_id: str) -> list[dict[str, Any]]:
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT at, from_phase, to_phase, reason FROM secret_steps WHERE rotation_id=? ORDER BY id",
                (rotation_id,),
            ).fetchall()
        return [dict(r) for r in rows]
