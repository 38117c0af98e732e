"""The persisted state of one rollout: a frozen record, replaced (never mutated) at every step."""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import asdict, dataclass, field
from typing import Any

from keel.analysis.base import Verdict
from keel.rollout.phases import Cause, Kind, Phase

_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class PlannedStep:
    weight: int
    hold: float


@dataclass(frozen=True)
class Rollout:
    """Everything ``advance()`` needs to take the next step after a restart. For a manual rollback
    ``revision`` is the target and ``previous`` the revision that served when it started."""

    id: str
    kind: Kind
    service: str
    environment: str
    revision: str
    previous: str | None
    phase: Phase
    created: float
    updated: float
    steps: tuple[PlannedStep, ...] = ()
    revision_env: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    image: str | None = None
    url: str | None = None
    first_deploy: bool = False
    step: int = 0
    weight: int = 0
    step_started: float | None = None
    look: int = 0
    extra_hold: float = 0.0
    next_look: float | None = None
    gate_started: float | None = None
    gate_passes: int = 0
    next_probe: float | None = None
    last_probe: str = ""
    smoke: dict[str, Any] | None = None
    last_verdict: Verdict | None = None
    reason: str = ""
    failed_by: Cause | None = None
    fail_at: float | None = None
    switched_at: float | None = None
    finished: float | None = None
    owner: str = ""

    @property
    def target(self) -> str | None:
        """Where traffic goes on a rollback: the previous serving revision (deploy) or the chosen one (rollback)."""
        return self.revision if self.kind is Kind.ROLLBACK else self.previous

    @property
    def current_step(self) -> PlannedStep | None:
        return self.steps[self.step] if 0 <= self.step < len(self.steps) else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["phase"] = self.phase.value
        data["steps"] = [asdict(s) for s in self.steps]
        data["command"] = list(self.command) if self.command is not None else None
        data["last_verdict"] = self.last_verdict.to_json() if self.last_verdict is not None else None
        data["failed_by"] = self.failed_by.value if self.failed_by is not None else ""
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rollout:
        values = dict(data)
        values["kind"] = Kind(values["kind"])
        values["phase"] = Phase(values["phase"])
        values["steps"] = tuple(PlannedStep(**s) for s in values.get("steps", ()))
        if values.get("command") is not None:
            values["command"] = tuple(values["command"])
        if values.get("last_verdict"):
            values["last_verdict"] = Verdict.from_json(values["last_verdict"])
        values["failed_by"] = Cause(values["failed_by"]) if values.get("failed_by") else None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def new_id(prefix: str = "r", token: str | None = None) -> str:
    return f"{prefix}-{token or random_token(8)}"


def random_token(length: int, rand: random.Random | None = None) -> str:
    chooser = rand or secrets.SystemRandom()
    return "".join(chooser.choice(_ID_ALPHABET) for _ in range(length))


def revision_name(service: str, sequence: int, token: str) -> str:
    """Cloud Run's shape: ``<service>-<NNNNN>-<short id>`` (sequence zero-padded to five digits)."""
    return f"{service}-{sequence:05d}-{token}"
