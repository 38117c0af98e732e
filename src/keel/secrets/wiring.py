"""From keel.yaml to the secrets' parts: the backend, the records, and a rotator on keel's release machinery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from keel.errors import ConfigError
from keel.secrets.backends.base import SecretBackend
from keel.secrets.config import SecretType
from keel.secrets.delivery import delivery_environment
from keel.secrets.records import RotationRecords
from keel.secrets.rotation import Rotator
from keel.secrets.state import Rotation
from keel.spec import KeelSpec
from keel.store import Store


@dataclass(frozen=True)
class SecretsParts:
    backend: SecretBackend
    store: Store
    records: RotationRecords


def backend_of(spec: KeelSpec, *, create_key: bool = True) -> SecretBackend:
    from keel.rollout.wiring import state_dir
    from keel.secrets.backends.registry import create_backend

    return create_backend(
        spec.secrets,
        service=spec.service,
        project_dir=spec.base_dir,
        state_dir=state_dir(spec),
        create_key=create_key,
    )


@contextmanager
def secrets_parts(spec: KeelSpec, *, create_key: bool = True) -> Iterator[SecretsParts]:
    from keel.rollout.wiring import open_store

    if not spec.secrets.items:
        raise ConfigError(f"{spec.source}: no secrets declared (add a secrets: section with items:)")
    backend = backend_of(spec, create_key=create_key)
    store = open_store(spec)
    try:
        yield SecretsParts(backend, store, RotationRecords(store, spec.service))
    finally:
        store.close()


def rotation_environment(spec: KeelSpec, env: str | None) -> str:
    chosen = env or delivery_environment(spec)
    if chosen is None:
        raise ConfigError(
            f"{spec.source}: several environments: say which one receives the secrets "
            "(secrets.environment in keel.yaml, or --env)"
        )
    spec.environment(chosen)
    if delivery_environment(spec) != chosen:
        raise ConfigError(
            f"{spec.source}: secrets are delivered to environment {delivery_environment(spec)!r}, not {chosen!r}: "
            "a rotation releases where the secrets are delivered"
        )
    return chosen


def rotator(
    spec: KeelSpec,
    environment: str,
    parts: SecretsParts,
    on_step: Callable[[Rotation, str], None] | None = None,
) -> Rotator:
    """A rotator releasing through keel's gated deploy (signals abort the release: traffic goes back, and the
    rotation rolls back), verifying with the service's deep health."""
    from keel.rollout.release import Release
    from keel.rollout.wiring import platform_of
    from keel.secrets.postgres import PostgresCredentials
    from keel.secrets.release import HttpVerifier, ReleaseDeployer

    release = Release(spec, environment, handle_signals=True)
    platform = platform_of(spec, environment)
    needs_db = any(item.type is SecretType.DATABASE for item in spec.secrets.items.values())
    return Rotator(
        spec.secrets, service=spec.service, environment=environment, backend=parts.backend, records=parts.records,
        deployer=ReleaseDeployer(release, parts.store, platform), verifier=HttpVerifier(),
        credentials=PostgresCredentials if needs_db else None, on_step=on_step,
    )  # fmt: skip
