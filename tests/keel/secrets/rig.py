"""A rotation rig: a memory platform that remembers each revision's environment (after keel resolved the secret
references, as a real process would get it), the real release API on a fake clock, a verifier that checks the
serving revision with Bayit+'s own token code, and parts that fail or "kill" keel on demand."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayit.security import TokenError, create_token, decode_token
from keel.analysis.base import Outcome
from keel.platforms.base import Revision, RevisionSpec
from keel.platforms.memory import MemoryPlatform
from keel.rollout.release import Release
from keel.rollout.wiring import Wiring
from keel.secrets.backends.base import CURRENT, PENDING, VersionState
from keel.secrets.backends.localfile import LocalFileBackend
from keel.secrets.delivery import SecretsPlatform
from keel.secrets.inventory import store_value
from keel.secrets.records import RotationRecords
from keel.secrets.release import ReleaseDeployer
from keel.secrets.rotation import Rotator
from keel.secrets.state import Rotation
from keel.spec import KeelSpec, parse_spec
from keel.store import Store
from keel.yamlfile import parse_yaml
from tests.keel.rollout.fakes import SETTINGS, FakeClock, FakeSmoke, ScriptedAnalyzer

SPEC = """\
service: svc
environments:
  test: {platform: memory}
strategy: {canary: {steps: [{weight: 50, hold: 60s}, {weight: 100}]}}
secrets:
  items:
    jwt: {type: jwt, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, grace: 1h, every: 90d}
    openai: {type: openai, env: OPENAI_API_KEY, every: 90d}
    database: {type: database, env: DATABASE_URL, admin_env: KEEL_TEST_ADMIN_URL, role: app}
"""
OLD = "svc-00000-old"
FIRST_KEY = "first-signing-key-" + "k" * 40


class Killed(BaseException):
    """keel's process dies here (SIGKILL): nothing after it runs, not even except-blocks for Exception."""


@dataclass
class Faults:
    """``at[name] = error``: the next call named ``name`` (after ``skip[name]`` others) raises ``error``, once."""

    at: dict[str, BaseException] = field(default_factory=dict)
    skip: dict[str, int] = field(default_factory=dict)  # calls let through before the fault
    calls: list[str] = field(default_factory=list)

    def hit(self, name: str) -> None:
        self.calls.append(name)
        if name not in self.at:
            return
        if self.skip.get(name, 0) > 0:
            self.skip[name] -= 1
            return
        raise self.at.pop(name)


class FaultyBackend:
    def __init__(self, inner: Any, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults

    def describe(self, name: str) -> Any:
        return self.inner.describe(name)

    def access(self, name: str, version: int | str) -> str:
        return str(self.inner.access(name, version))

    def add_version(self, name: str, value: str) -> Any:
        self.faults.hit("add_version")
        return self.inner.add_version(name, value)

    def set_state(self, name: str, version: int, state: VersionState) -> None:
        self.faults.hit(f"set_state:{state.value}")
        self.inner.set_state(name, version, state)

    def set_alias(self, name: str, alias: str, version: int | None) -> None:
        self.faults.hit(f"set_alias:{alias}")
        self.inner.set_alias(name, alias, version)
        self.faults.hit(f"after_set_alias:{alias}")


class ServicePlatform:
    """A memory platform whose revisions keep the environment they were started with."""

    def __init__(self, inner: MemoryPlatform, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults
        self.envs: dict[str, dict[str, str]] = {}
        self.unready_without: str | None = None  # a variable without which a revision never gets ready

    async def deploy(self, spec: RevisionSpec) -> Revision:
        self.faults.hit("deploy")
        revision = await self.inner.deploy(spec)
        self.envs[spec.name] = dict(spec.env)
        if self.unready_without and not spec.env.get(self.unready_without):
            self.inner.ready[spec.name] = False
        return revision

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FakeCredentials:
    """Login roles as a set; ``faults`` make a call fail."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.roles: dict[str, str] = {}
        self.revoked: set[str] = set()

    def create(self, role: str, password: str) -> None:
        self.faults.hit("create_role")
        self.roles[role] = password

    def revoke(self, role: str) -> None:
        self.faults.hit("revoke_role")
        self.revoked.add(role)

    def drop(self, role: str) -> None:
        self.faults.hit("drop_role")
        self.roles.pop(role, None)


class ServiceVerifier:
    """The deep health of the serving revision: its variables are set, and for the JWT secret, tokens made with
    its signing key verify (Bayit+'s own code). ``healthy=False`` makes it fail."""

    def __init__(self, rig: RotationRig) -> None:
        self.rig = rig
        self.healthy = True
        self.urls: list[str] = []

    async def verify(self, url: str) -> tuple[bool, str]:
        self.urls.append(url)
        self.rig.faults.hit("verify")
        if not self.healthy:
            return False, "HTTP 503: failing database"
        name = url.split("//", 1)[1].split(".", 1)[0]
        env = self.rig.platform.envs.get(name, {})
        key = env.get("SECRET_KEY")
        if key:
            token = create_token(1, key, 5).access_token
            decode_token(token, self.rig.keys_of(name))
        return True, "200"


class RotationRig:
    def __init__(self, tmp: Path, spec_text: str = SPEC) -> None:
        self.tmp = tmp
        self.clock = FakeClock()
        self.faults = Faults()
        self.spec: KeelSpec = parse_spec(parse_yaml(spec_text, str(tmp / "keel.yaml")))
        self.store = Store(tmp / "keel.db")
        self.key = os.urandom(32)
        self.file_backend = LocalFileBackend(tmp / "secrets.json", self.key, clock=self.clock)
        self.backend = FaultyBackend(self.file_backend, self.faults)
        self.memory = MemoryPlatform(self.clock, "svc")
        self.platform = ServicePlatform(self.memory, self.faults)
        self.credentials = FakeCredentials(self.faults)
        self.verifier = ServiceVerifier(self)
        self.smoke = FakeSmoke()
        self.analyzer = ScriptedAnalyzer(lambda canary, look: Outcome.PASS)
        self.steps: list[tuple[str, str]] = []
        self.tokens: list[str] = []

    # --- setup ------------------------------------------------------------------------------------------------

    def serve_first_revision(self, **values: str) -> None:
        """The service runs OLD with these values, stored in the backend as current."""
        for name, value in values.items():
            item = self.spec.secrets.items[name]
            store_value(self.file_backend, item.secret_id(name), value)
        self.memory.add_serving(OLD)
        from keel.secrets.delivery import delivered_env

        self.platform.envs[OLD] = delivered_env(self.spec.secrets, self.file_backend)

    def sign_in(self, user: int) -> str:
        """A token signed by the serving revision (a user logs in)."""
        serving = self.serving()
        token = create_token(user, self.platform.envs[serving]["SECRET_KEY"], 60).access_token
        self.tokens.append(token)
        return token

    # --- the parts --------------------------------------------------------------------------------------------

    def wiring(self) -> Wiring:
        platform = SecretsPlatform(self.platform, self.spec.secrets, self.file_backend)  # type: ignore[arg-type]
        return Wiring(
            self.store,
            platform,
            SETTINGS,
            self.memory.prober(),
            self.smoke,
            lambda baseline: self.analyzer,  # type: ignore[arg-type]
        )

    def rotator(self) -> Rotator:
        """A fresh rotator, as a new keel process would build it."""
        wiring = self.wiring()
        release = Release(self.spec, "test", wiring=wiring, clock=self.clock, sleeper=self.clock.sleep)
        return Rotator(
            self.spec.secrets, service="svc", environment="test", backend=self.backend,
            records=RotationRecords(self.store, "svc"),
            deployer=ReleaseDeployer(release, self.store, wiring.platform), verifier=self.verifier,
            credentials=lambda item: self.credentials, clock=self.clock,
            on_step=lambda r, why: self.steps.append((r.phase.value, why)),
        )  # fmt: skip

    # --- what the tests look at -------------------------------------------------------------------------------

    def serving(self) -> str:
        weights = self.memory._weights
        return next(name for name, weight in weights.items() if weight == 100)

    def keys_of(self, revision: str) -> tuple[str, ...]:
        env = self.platform.envs[revision]
        return tuple(k for k in (env.get("SECRET_KEY"), env.get("SECRET_KEY_OLD")) if k)

    def valid(self, token: str) -> bool:
        try:
            decode_token(token, self.keys_of(self.serving()))
        except TokenError:
            return False
        return True

    def assert_settled(self, name: str) -> None:
        """Nothing half-rotated: no active rotation, no pending version, every version above current destroyed
        or a rotation's previous one, and the serving revision runs the current value."""
        item = self.spec.secrets.items[name]
        sid = item.secret_id(name)
        rotation = RotationRecords(self.store, "svc").active(name)
        assert rotation is None or rotation.phase.value == "grace", rotation
        info = self.file_backend.describe(sid)
        assert info is not None
        assert PENDING not in info.aliases
        current = info.aliases[CURRENT]
        for v in info.versions:
            if v.version > current:
                assert v.state is VersionState.DESTROYED, (v, current)
        assert self.memory._weights[self.serving()] == 100
        assert self.platform.envs[self.serving()][item.env] == self.file_backend.access(sid, CURRENT)

    def rotation(self, name: str) -> Rotation:
        found = RotationRecords(self.store, "svc").history(name, limit=1)
        assert found
        return found[0]


def env_values(envs: Mapping[str, Mapping[str, str]]) -> set[str]:
    return {v for env in envs.values() for v in env.values()}
