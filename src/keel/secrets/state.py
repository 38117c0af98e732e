"""A rotation's persisted state: phases, the table of allowed transitions, and the frozen record."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from keel.secrets.config import SecretType


class RotationPhase(StrEnum):
    """Each phase names what the next step does (or, when terminal, how the rotation ended)."""

    CREATING = "creating"  # next: store the new value as the pending version (and create its credential)
    DEPLOYING = "deploying"  # next: release a revision that uses it, through the gated deploy
    VERIFYING = "verifying"  # next: the service's deep health on the released revision
    FINISHING = "finishing"  # next: label the new version current, the old one previous
    REVOKING = "revoking"  # next: revoke the old credential (database), disable the old version
    GRACE = "grace"  # jwt: the old key still verifies tokens until retire_at
    RETIRING = "retiring"  # jwt: next: release a revision without the old key, then disable it
    ROLLING_BACK = "rolling_back"  # next: traffic back to the old revision, the new version destroyed
    DONE = "done"
    ROLLED_BACK = "rolled_back"

    @property
    def terminal(self) -> bool:
        return self in (RotationPhase.DONE, RotationPhase.ROLLED_BACK)

    @property
    def reversible(self) -> bool:
        """A failure here rolls back to the old secret; later, the new one is in service and steps are retried."""
        return self in (
            RotationPhase.CREATING, RotationPhase.DEPLOYING, RotationPhase.VERIFYING, RotationPhase.FINISHING
        )  # fmt: skip


P = RotationPhase
TRANSITIONS: dict[RotationPhase, frozenset[RotationPhase]] = {
    P.CREATING: frozenset({P.DEPLOYING, P.ROLLING_BACK}),
    P.DEPLOYING: frozenset({P.VERIFYING, P.ROLLING_BACK}),
    P.VERIFYING: frozenset({P.FINISHING, P.ROLLING_BACK}),
    P.FINISHING: frozenset({P.REVOKING, P.ROLLING_BACK}),
    P.REVOKING: frozenset({P.GRACE, P.RETIRING, P.DONE}),
    P.GRACE: frozenset({P.RETIRING}),
    P.RETIRING: frozenset({P.DONE, P.GRACE}),
    P.ROLLING_BACK: frozenset({P.ROLLED_BACK}),
    P.DONE: frozenset(),
    P.ROLLED_BACK: frozenset(),
}


@dataclass(frozen=True)
class Rotation:
    """Everything the next step needs after a restart; version numbers, role and revision names, never a value.
    ``old_version`` was ``current`` when the rotation started (``old_previous`` was ``previous``)."""

    id: str
    service: str
    secret: str
    secret_id: str
    type: SecretType
    environment: str
    phase: RotationPhase
    created: float
    updated: float
    old_version: int | None = None
    old_previous: int | None = None
    latest_before: int = 0  # versions above it were made by this rotation
    new_version: int | None = None
    new_role: str | None = None
    serving_before: str | None = None
    phase_started: float = 0.0
    revision: str | None = None
    retire_at: float | None = None
    grace: float | None = None  # the operator's override of the item's grace window (0: retire at once)
    failed_step: str | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()
    finished: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type.value
        data["phase"] = self.phase.value
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rotation:
        data = dict(data)
        data["type"] = SecretType(data["type"])
        data["phase"] = RotationPhase(data["phase"])
        data["notes"] = tuple(data.get("notes", ()))
        return cls(**data)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)
