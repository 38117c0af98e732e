"""How secret values reach a revision: keel's records hold references (``keel-secret:ID:VERSION``), and a
platform wrapper resolves them, with each declared secret's ``current`` version, just before the platform
starts the revision. So neither the store nor the rollout's record ever holds a value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from keel.platforms.base import Platform, PlatformError, Revision, RevisionSpec, TrafficSplit
from keel.secrets.backends.base import CURRENT, PREVIOUS, SecretBackend, VersionState
from keel.secrets.config import SecretsSpec, SecretType
from keel.secrets.errors import SecretsError
from keel.secrets.values import scrub

if TYPE_CHECKING:
    from keel.spec import KeelSpec

REF_PREFIX = "keel-secret:"


def reference(secret_id: str, version: int) -> str:
    return f"{REF_PREFIX}{secret_id}:{version}"


def parse_reference(value: str) -> tuple[str, int] | None:
    if not value.startswith(REF_PREFIX):
        return None
    secret_id, _, version = value[len(REF_PREFIX) :].rpartition(":")
    if not secret_id or not version.isdigit():
        raise SecretsError(f"malformed secret reference {value!r}: expected {REF_PREFIX}ID:VERSION")
    return secret_id, int(version)


def delivered_refs(secrets: SecretsSpec, backend: SecretBackend) -> dict[str, str]:
    """Each declared secret's ``current`` version as a reference under its variable; a jwt secret's enabled
    ``previous`` version (its grace window) under ``previous_env``. Secrets never stored yet are left out."""
    env: dict[str, str] = {}
    for name, item in secrets.items.items():
        sid = item.secret_id(name)
        info = backend.describe(sid)
        if info is None or CURRENT not in info.aliases:
            continue
        env[item.env] = reference(sid, info.aliases[CURRENT])
        if item.type is SecretType.JWT and item.previous_env and PREVIOUS in info.aliases:
            old = info.version(info.aliases[PREVIOUS])
            if old is not None and old.state is VersionState.ENABLED:
                env[item.previous_env] = reference(sid, old.version)
    return env


def delivered_env(secrets: SecretsSpec, backend: SecretBackend) -> dict[str, str]:
    """``delivered_refs`` with the values in place of the references."""
    return resolve_env(delivered_refs(secrets, backend), backend)


def resolve_env(env: Mapping[str, str], backend: SecretBackend) -> dict[str, str]:
    """References replaced by their values; other values unchanged."""
    out: dict[str, str] = {}
    for key, value in env.items():
        ref = parse_reference(value)
        out[key] = value if ref is None else backend.access(*ref)
    return out


class SecretsPlatform:
    """A platform that gives every revision it deploys the secrets' values (the revision's own references and
    variables win over the declared defaults); every other call goes to the wrapped platform."""

    def __init__(
        self, inner: Platform, secrets: SecretsSpec, backend: SecretBackend | Callable[[], SecretBackend]
    ) -> None:
        self.inner = inner
        self._secrets = secrets
        self._backend = backend  # or how to open it: only a deploy needs it (status and rollback do not)

    def backend(self) -> SecretBackend:
        if callable(self._backend):
            self._backend = self._backend()
        return self._backend

    async def deploy(self, spec: RevisionSpec) -> Revision:
        backend = self.backend()
        env = {**delivered_env(self._secrets, backend), **resolve_env(spec.env, backend)}
        try:
            return await self.inner.deploy(RevisionSpec(spec.name, env, spec.image, spec.command))
        except PlatformError as exc:  # its message goes to keel's records: no value may ride along
            raise PlatformError(scrub(str(exc), _secret_values(env, spec.env))) from None

    async def set_traffic(self, weights: Mapping[str, int]) -> TrafficSplit:
        return await self.inner.set_traffic(weights)

    async def traffic(self) -> TrafficSplit:
        return await self.inner.traffic()

    async def revisions(self) -> list[Revision]:
        return await self.inner.revisions()

    async def remove(self, name: str) -> None:
        await self.inner.remove(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class SecretRefsPlatform(SecretsPlatform):
    """Cloud Run reads secrets itself: every revision keel deploys there references its secrets' versions
    (``secretKeyRef`` with the version number: each declared secret's ``current``, a jwt secret's ``previous``
    during its grace window, or the versions a rotation releases). No value passes through keel; the platform
    turns ``keel-secret:`` references into Secret Manager references of ``project``'s secrets."""

    def __init__(
        self,
        inner: Platform,
        secrets: SecretsSpec,
        backend: SecretBackend | Callable[[], SecretBackend],
        *,
        secret_project: str | None = None,
        platform_project: str | None = None,
    ) -> None:
        super().__init__(inner, secrets, backend)
        self._qualify = secret_project is not None and secret_project != platform_project
        self._project = secret_project

    def _ref(self, value: str) -> str:
        ref = parse_reference(value)
        if ref is None or not self._qualify or ref[0].startswith("projects/"):
            return value
        return reference(f"projects/{self._project}/secrets/{ref[0]}", ref[1])

    async def deploy(self, spec: RevisionSpec) -> Revision:
        env = {**delivered_refs(self._secrets, self.backend()), **spec.env}
        qualified = {key: self._ref(value) for key, value in env.items()}
        return await self.inner.deploy(RevisionSpec(spec.name, qualified, spec.image, spec.command))


def _secret_values(env: Mapping[str, str], requested: Mapping[str, str]) -> list[str]:
    """The values of ``env`` that came from the backend (declared secrets and resolved references)."""
    return [value for key, value in env.items() if requested.get(key) != value]


def delivery_environment(spec: KeelSpec) -> str | None:
    """The environment secrets are delivered to: ``secrets.environment``, else the only environment."""
    if spec.secrets.environment is not None:
        return spec.secrets.environment
    return next(iter(spec.environments)) if len(spec.environments) == 1 else None


def with_secrets(spec: KeelSpec, env_name: str, platform: Platform) -> Platform:
    """The platform, wrapped when this environment receives the spec's secrets."""
    if not spec.secrets.items or delivery_environment(spec) != env_name:
        return platform
    from keel.rollout.wiring import state_dir
    from keel.secrets.backends.registry import create_backend

    def backend() -> SecretBackend:
        return create_backend(
            spec.secrets, service=spec.service, project_dir=spec.base_dir, state_dir=state_dir(spec)
        )

    environment = spec.environments[env_name]
    if environment.platform == "cloudrun":
        from keel.secrets.config import GcpBackendConfig

        backend_config = spec.secrets.backend
        assert isinstance(backend_config, GcpBackendConfig)  # keel.yaml refuses the local file for Cloud Run
        return SecretRefsPlatform(
            platform, spec.secrets, backend, secret_project=backend_config.project,
            platform_project=getattr(environment, "project", None),
        )  # fmt: skip
    return SecretsPlatform(platform, spec.secrets, backend)
