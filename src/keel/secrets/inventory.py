"""What ``keel secrets list``, ``status`` and ``due`` show: each declared secret's versions, age, last rotation
and schedule (never a value), and storing a secret's value in service (``keel secrets set``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from keel.secrets.backends.base import CURRENT, PREVIOUS, SecretBackend, VersionState
from keel.secrets.config import SecretsSpec
from keel.secrets.records import RotationRecords
from keel.secrets.state import RotationPhase

if TYPE_CHECKING:
    from keel.spec import KeelSpec

DAY = 86400.0


@dataclass(frozen=True)
class SecretAges:
    """What ``keel review`` reads: the rows, or why they could not be read (no key here, say)."""

    rows: tuple[SecretRow, ...] = ()
    problem: str = ""


def read_ages(spec: KeelSpec, now: float) -> SecretAges:
    """The declared secrets' rows, creating nothing (no key file, no store) when they do not exist yet."""
    from keel.errors import KeelError
    from keel.rollout.wiring import existing_store
    from keel.secrets.wiring import backend_of

    if not spec.secrets.items:
        return SecretAges()
    try:
        backend = backend_of(spec, create_key=False)
        store = existing_store(spec)
        try:
            records = RotationRecords(store, spec.service) if store is not None else None
            return SecretAges(tuple(inventory(spec.secrets, backend, records, now)))
        finally:
            if store is not None:
                store.close()
    except (KeelError, ImportError) as exc:
        return SecretAges(problem=str(exc))


@dataclass(frozen=True)
class SecretRow:
    name: str
    type: str
    env: str
    secret_id: str
    versions: int  # enabled versions
    current: int | None
    age_days: float | None  # of the current version
    last_rotated: float | None  # when the current version became current (a rotation's end, or its creation)
    every_days: float | None
    due_in_days: float | None  # negative: overdue
    rotation: str | None  # the active rotation's id and phase
    state: str  # ok, due, not stored, rotating, stuck (a step failed: --resume), grace, grace over

    @property
    def due(self) -> bool:
        return self.state in ("due", "not stored", "grace over", "stuck")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "due": self.due}


def store_value(backend: SecretBackend, secret_id: str, value: str) -> int:
    """Store the value in service now as a new version labelled current (the one before becomes previous,
    disabled): how a secret that keel did not make enters the backend."""
    info = backend.describe(secret_id)
    old = info.aliases.get(CURRENT) if info else None
    version = backend.add_version(secret_id, value).version
    backend.set_alias(secret_id, CURRENT, version)
    if old is not None:
        backend.set_alias(secret_id, PREVIOUS, old)
        found = info.version(old) if info else None
        if found is not None and found.state is VersionState.ENABLED:
            backend.set_state(secret_id, old, VersionState.DISABLED)
    return version


def inventory(
    secrets: SecretsSpec, backend: SecretBackend, records: RotationRecords | None, now: float
) -> list[SecretRow]:
    """One row per declared secret; ``records`` None: no store yet, so no rotation on record."""
    rows: list[SecretRow] = []
    for name, item in sorted(secrets.items.items()):
        sid = item.secret_id(name)
        info = backend.describe(sid)
        current = info.aliases.get(CURRENT) if info else None
        version = info.version(current) if info is not None and current is not None else None
        enabled = sum(1 for v in info.versions if v.state is VersionState.ENABLED) if info else 0
        history = records.history(name, limit=20) if records is not None else []
        done = next((r for r in history if r.phase is RotationPhase.DONE), None)
        active = records.active(name) if records is not None else None
        last = version.created if version else None
        if done is not None and done.new_version == current and done.finished is not None:
            last = max(done.updated, last or 0.0)
        every = item.every
        due_in = None if every is None or last is None else (last + every - now) / DAY
        if active is not None:
            grace_over = (
                active.phase is RotationPhase.GRACE
                and active.retire_at is not None
                and now >= active.retire_at
            )
            state = (
                "grace over" if grace_over else "grace" if active.phase is RotationPhase.GRACE else "rotating"
            )
        elif version is None:
            state = "not stored"
        elif due_in is not None and due_in <= 0:
            state = "due"
        else:
            state = "ok"
        rows.append(
            SecretRow(
                name=name, type=item.type.value, env=item.env, secret_id=sid, versions=enabled, current=current,
                age_days=None if version is None else round((now - version.created) / DAY, 2),
                last_rotated=last, every_days=None if every is None else every / DAY,
                due_in_days=None if due_in is None else round(due_in, 2),
                rotation=None if active is None else f"{active.id} ({active.phase.value})", state=state,
            )
        )  # fmt: skip
    return rows
