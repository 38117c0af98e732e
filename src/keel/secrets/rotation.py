"""Rotation as a persisted, resumable procedure (AWS Secrets Manager's create/set/test/finish, with labels).

Each step is one persisted transition: a killed ``keel secrets rotate`` resumes where it stopped. Until the
new version is labelled current, any failure rolls back: traffic returns to the revision that served before,
the new version is destroyed and its credential dropped, the old secret stays current. Once the new secret is
in service the remaining steps (revoke the old credential, retire the old JWT key) are retried, never undone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from keel.rollout.state import new_id, random_token
from keel.secrets.backends.base import CURRENT, PENDING, PREVIOUS, SecretBackend, VersionState
from keel.secrets.config import SecretItem, SecretsSpec, SecretType
from keel.secrets.delivery import reference
from keel.secrets.errors import RotationRefused, SecretsError
from keel.secrets.records import RotationRecords
from keel.secrets.state import TRANSITIONS, Rotation, RotationPhase
from keel.secrets.values import (
    REVOKE_WHERE,
    database_password,
    database_url,
    database_user,
    scrub,
    signing_key,
)
from keel.types import Clock

P = RotationPhase


@dataclass(frozen=True)
class DeployOutcome:
    promoted: bool
    revision: str
    detail: str


class Deployer(Protocol):
    """Releases into the rotation's environment (keel's gated deploy)."""

    async def serving(self) -> str | None:
        """The revision with all traffic now (None when traffic is split or nothing serves)."""
        ...

    async def deploy(self, env: Mapping[str, str], *, since: float) -> DeployOutcome:
        """Release a revision with ``env`` added; idempotent across a restart: an interrupted release is
        resumed, and one that finished after ``since`` with this ``env`` is reported instead of repeated."""
        ...

    async def settle(self, env: Mapping[str, str]) -> None:
        """Abort the environment's unfinished release if it is the one releasing ``env`` (traffic back to the
        revision before it); another release (someone's deploy, another rotation) is left alone."""
        ...

    async def restore(self, revision: str) -> None:
        """All traffic back to ``revision`` (verified ready)."""
        ...

    async def url(self, revision: str) -> str | None:
        """The URL that reaches ``revision`` alone."""
        ...


class Verifier(Protocol):
    async def verify(self, url: str) -> tuple[bool, str]:
        """Whether the service at ``url`` (a health endpoint) is healthy, and a line saying why; never a value."""
        ...


class Credentials(Protocol):
    """Login roles of a database secret (keel.secrets.postgres)."""

    def create(self, role: str, password: str) -> None: ...

    def revoke(self, role: str) -> None: ...

    def drop(self, role: str) -> None: ...


CredentialsFactory = Callable[[SecretItem], Credentials]


class Rotator:
    """Rotations of one service's secrets in one environment. ``begin`` records a new rotation, ``run`` drives a
    rotation until it ends (or waits in its JWT grace window), ``resume`` drives the active one again."""

    def __init__(
        self,
        secrets: SecretsSpec,
        *,
        service: str,
        environment: str,
        backend: SecretBackend,
        records: RotationRecords,
        deployer: Deployer,
        verifier: Verifier,
        credentials: CredentialsFactory | None = None,
        clock: Clock = time.time,
        on_step: Callable[[Rotation, str], None] | None = None,
    ) -> None:
        self.secrets = secrets
        self.service = service
        self.environment = environment
        self.backend = backend
        self.records = records
        self.deployer = deployer
        self.verifier = verifier
        self._credentials = credentials
        self._clock = clock
        self._on_step = on_step or (lambda rotation, reason: None)
        self._known: set[str] = set()  # values seen in this process: scrubbed from every recorded reason
        self._value: str | None = None
        self._steps: dict[RotationPhase, Callable[[Rotation], Awaitable[Rotation]]] = {
            P.CREATING: self._create,
            P.DEPLOYING: self._deploy,
            P.VERIFYING: self._verify,
            P.FINISHING: self._finish,
            P.REVOKING: self._revoke,
            P.RETIRING: self._retire,
            P.ROLLING_BACK: self._rollback,
        }

    # --- the public operations --------------------------------------------------------------------------------

    def item(self, name: str) -> SecretItem:
        try:
            return self.secrets.items[name]
        except KeyError:
            known = ", ".join(sorted(self.secrets.items)) or "none declared"
            raise RotationRefused(
                f"no secret {name!r} in keel.yaml's secrets.items (known: {known})"
            ) from None

    def begin(self, name: str, value: str | None = None, *, grace: float | None = None) -> Rotation:
        """Record a new rotation of ``name`` (``value``: the provider's new key, for provided types; ``grace``:
        the JWT grace window instead of the item's, 0 to retire the old key at once, as after a leak)."""
        item = self.item(name)
        sid = item.secret_id(name)
        if item.type.provided and not value:
            raise RotationRefused(
                f"secret {name} ({item.type.value}): give the new value on stdin or --from-file"
            )
        if not item.type.provided and value:
            raise RotationRefused(f"secret {name} ({item.type.value}): keel makes the new value; give none")
        info = self.backend.describe(sid)
        current = info.aliases.get(CURRENT) if info else None
        if current is None and item.type in (SecretType.JWT, SecretType.DATABASE):
            raise RotationRefused(
                f"secret {name} has no current version: store the value in service now first "
                f"(keel secrets set {name} < file), so that the rotation can keep it working meanwhile"
            )
        now = self._clock()
        rotation = Rotation(
            id=new_id("s"), service=self.service, secret=name, secret_id=sid, type=item.type,
            environment=self.environment, phase=P.CREATING, created=now, updated=now, old_version=current,
            old_previous=info.aliases.get(PREVIOUS) if info else None, phase_started=now,
            grace=grace, latest_before=info.latest.version if info and info.latest else 0,
            new_role=f"{item.role}_{random_token(8)}" if item.type is SecretType.DATABASE else None,
        )  # fmt: skip
        self.records.start(rotation)
        if value:
            self._value = value
            self._known.add(value)
        self._on_step(rotation, f"rotation {rotation.id} of {name} started")
        return rotation

    def active(self, name: str) -> Rotation:
        self.item(name)
        rotation = self.records.active(name)
        if rotation is None:
            raise RotationRefused(f"secret {name}: no rotation to resume")
        return rotation

    async def run(self, rotation: Rotation) -> Rotation:
        """Take steps until the rotation ends, waits for its grace window, or a retried step fails again.
        Raises SecretsError when the rollback itself stopped (the record says where: ``--resume`` retries)."""
        r = rotation
        retired_once = False
        while not r.phase.terminal:
            if r.phase is P.GRACE:
                assert r.retire_at is not None
                if self._clock() < r.retire_at or retired_once:  # a failed retirement waits for the operator
                    return r
                retired_once = True
                r = self._move(r, P.RETIRING, "grace window over: retiring the old key")
                continue
            phase = r.phase
            try:
                r = await self._steps[phase](r)
            except Exception as exc:  # any failure: the record decides what happens next
                self._remember(r)
                reason = self._scrub(f"{phase.value} failed: {exc}")
                if phase.reversible:
                    r = self._move(r, P.ROLLING_BACK, reason, failed_step=phase.value, reason=reason)
                    continue
                r = self._save(replace(r, failed_step=phase.value, reason=reason))
                if phase is P.ROLLING_BACK:
                    raise SecretsError(
                        f"rotation {r.id} of {r.secret}: {reason}; nothing more was changed: fix the cause, then "
                        f"keel secrets rotate {r.secret} --resume"
                    ) from None
                return r
        return r

    async def rollback(self, rotation: Rotation, reason: str) -> Rotation:
        """Abandon a rotation that is still reversible (the operator's ``--abort``)."""
        if not rotation.phase.reversible:
            raise RotationRefused(
                f"rotation {rotation.id} is {rotation.phase.value}: the new secret is already in service; "
                f"finish it with keel secrets rotate {rotation.secret} --resume"
            )
        r = self._move(rotation, P.ROLLING_BACK, reason, failed_step=rotation.phase.value, reason=reason)
        return await self.run(r)

    # --- bookkeeping ------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self._known)

    def _remember(self, r: Rotation) -> None:
        """Learn the rotation's old and new values (a resumed process has not read them) so a failure's message
        can be scrubbed of them; a version that cannot be read is skipped."""
        for version in (r.old_version, r.new_version):
            if version is not None:
                with contextlib.suppress(Exception):
                    self._read(r, version)

    def _save(self, r: Rotation) -> Rotation:
        r = replace(r, updated=self._clock())
        self.records.save(r, None, "")
        return r

    def _move(self, r: Rotation, to: RotationPhase, why: str, **changes: object) -> Rotation:
        if to not in TRANSITIONS[r.phase]:
            raise SecretsError(f"rotation {r.id}: {r.phase.value} -> {to.value} is not allowed")
        now = self._clock()
        finished = now if to.terminal else None
        moved = replace(r, phase=to, updated=now, phase_started=now, finished=finished, **changes)  # type: ignore[arg-type]
        self.records.save(moved, r.phase, why)
        self._on_step(moved, why)
        return moved

    def _read(self, r: Rotation, version: int) -> str:
        value = self.backend.access(r.secret_id, version)
        self._known.add(value)
        if r.type is SecretType.DATABASE:
            self._known.add(database_password(value))
        return value

    def _creds(self, item: SecretItem) -> Credentials:
        if self._credentials is None:
            raise SecretsError("database secrets need a credentials manager (PostgreSQL)")
        return self._credentials(item)

    # --- the steps --------------------------------------------------------------------------------------------

    async def _create(self, r: Rotation) -> Rotation:
        item = self.item(r.secret)
        if r.new_version is None:
            info = self.backend.describe(r.secret_id)
            latest = info.latest if info else None
            if (  # stored by this rotation before a kill: adopt it
                latest is not None and latest.version > r.latest_before and latest.state is VersionState.ENABLED
            ):  # fmt: skip
                number = latest.version
            else:
                number = self.backend.add_version(r.secret_id, self._new_value(r, item)).version
            r = self._save(replace(r, new_version=number))
        assert r.new_version is not None
        self.backend.set_alias(r.secret_id, PENDING, r.new_version)
        if item.type is SecretType.DATABASE:
            assert r.new_role is not None
            self._creds(item).create(r.new_role, database_password(self._read(r, r.new_version)))
        return self._move(r, P.DEPLOYING, f"version {r.new_version} stored as pending")

    def _new_value(self, r: Rotation, item: SecretItem) -> str:
        if item.type is SecretType.JWT:
            value = signing_key(item.length)
        elif item.type is SecretType.DATABASE:
            assert r.old_version is not None and r.new_role is not None
            password = signing_key(40)
            self._known.add(password)
            value = database_url(self._read(r, r.old_version), r.new_role, password)
        elif self._value is not None:
            value = self._value
        else:
            raise SecretsError(
                "the new value was not stored before keel stopped, and only the operator has it: the rotation "
                f"rolls back; run keel secrets rotate {r.secret} again"
            )
        self._known.add(value)
        return value

    def _env(self, r: Rotation) -> dict[str, str]:
        item = self.item(r.secret)
        assert r.new_version is not None
        env = {item.env: reference(r.secret_id, r.new_version)}
        if item.type is SecretType.JWT and item.previous_env and r.old_version is not None:
            env[item.previous_env] = reference(r.secret_id, r.old_version)  # old tokens stay valid
        return env

    async def _deploy(self, r: Rotation) -> Rotation:
        if r.serving_before is None:
            r = self._save(replace(r, serving_before=await self.deployer.serving()))
        outcome = await self.deployer.deploy(self._env(r), since=r.phase_started)
        if not outcome.promoted:
            raise SecretsError(f"the release of {outcome.revision} did not go through: {outcome.detail}")
        return self._move(r, P.VERIFYING, f"revision {outcome.revision} serves with version {r.new_version}",
                          revision=outcome.revision)  # fmt: skip

    async def _check(self, revision: str | None) -> None:
        url = await self.deployer.url(revision) if revision else None
        if url is None:
            raise SecretsError(f"revision {revision} is not on the platform")
        ok, detail = await self.verifier.verify(url.rstrip("/") + self.secrets.verify)
        if not ok:
            raise SecretsError(f"{self.secrets.verify} on {revision}: {detail}")

    async def _verify(self, r: Rotation) -> Rotation:
        await self._check(r.revision)
        return self._move(r, P.FINISHING, f"{self.secrets.verify} healthy on {r.revision}")

    async def _finish(self, r: Rotation) -> Rotation:
        assert r.new_version is not None
        self.backend.set_alias(r.secret_id, CURRENT, r.new_version)
        self.backend.set_alias(r.secret_id, PREVIOUS, r.old_version)
        self.backend.set_alias(r.secret_id, PENDING, None)
        return self._move(r, P.REVOKING, f"version {r.new_version} is current")

    async def _revoke(self, r: Rotation) -> Rotation:
        item = self.item(r.secret)
        old = r.old_version
        info = self.backend.describe(r.secret_id)
        found = info.version(old) if info is not None and old is not None else None
        enabled = found is not None and found.state is VersionState.ENABLED
        if item.type is SecretType.JWT:
            grace = item.grace if r.grace is None else r.grace
            if enabled and grace > 0:
                retire_at = self._clock() + grace
                return self._move(r, P.GRACE, f"old key verifies tokens for {grace:g}s more",
                                  retire_at=retire_at, failed_step=None, reason="")  # fmt: skip
            return self._move(
                r, P.RETIRING, "no grace window: retiring the old key", failed_step=None, reason=""
            )
        notes = r.notes
        if item.type is SecretType.DATABASE and enabled:
            assert old is not None
            role = database_user(self._read(r, old))
            self._creds(item).revoke(role)
            notes = (*notes, f"login role {role} revoked")
        elif item.type.provided:
            notes = (*notes, f"revoke the old {item.type.value} key at {REVOKE_WHERE[item.type]}")
        if enabled:
            assert old is not None
            self.backend.set_state(r.secret_id, old, VersionState.DISABLED)
        return self._move(r, P.DONE, f"old version {old} disabled" if old else "first version in service",
                          notes=notes, failed_step=None, reason="")  # fmt: skip

    async def _retire(self, r: Rotation) -> Rotation:
        item = self.item(r.secret)
        assert item.previous_env is not None
        old = r.old_version
        info = self.backend.describe(r.secret_id)
        found = info.version(old) if info is not None and old is not None else None
        if found is not None and found.state is VersionState.ENABLED:
            assert old is not None
            self.backend.set_state(r.secret_id, old, VersionState.DISABLED)
        before = await self.deployer.serving()
        outcome = await self.deployer.deploy({item.previous_env: ""}, since=r.phase_started)
        problem = None if outcome.promoted else outcome.detail
        if problem is None:
            try:
                await self._check(outcome.revision)
            except SecretsError as exc:
                problem = str(exc)
                if before is not None:
                    await self.deployer.restore(before)
        if problem is not None:
            if old is not None:
                self.backend.set_state(r.secret_id, old, VersionState.ENABLED)
            reason = self._scrub(f"retiring the old key failed: {problem}; it still verifies tokens")
            return self._move(r, P.GRACE, reason, failed_step=P.RETIRING.value, reason=reason)
        return self._move(r, P.DONE, f"old key retired: {outcome.revision} verifies only the new key",
                          revision=outcome.revision, failed_step=None, reason="")  # fmt: skip

    async def _rollback(self, r: Rotation) -> Rotation:
        item = self.item(r.secret)
        if r.new_version is not None:
            await self.deployer.settle(self._env(r))
        if (
            r.revision is not None
            and r.serving_before is not None
            and await self.deployer.serving() == r.revision
        ):
            await self.deployer.restore(r.serving_before)
        info = self.backend.describe(r.secret_id)
        if info is not None:
            if r.old_version is not None:
                self.backend.set_alias(r.secret_id, CURRENT, r.old_version)
            self.backend.set_alias(r.secret_id, PREVIOUS, r.old_previous)
            self.backend.set_alias(r.secret_id, PENDING, None)
            for version in info.versions:
                if version.version > r.latest_before and version.state is not VersionState.DESTROYED:
                    self.backend.set_state(r.secret_id, version.version, VersionState.DESTROYED)
        if item.type is SecretType.DATABASE and r.new_role is not None:
            self._creds(item).drop(r.new_role)
        kept = f"version {r.old_version} stays current" if r.old_version else "nothing was stored"
        return self._move(r, P.ROLLED_BACK, f"rolled back: {kept}")
