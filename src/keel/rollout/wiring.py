"""From keel.yaml to a ready engine: the store, the platform, gates and the analyzer of one environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keel.analysis.base import Analyzer
from keel.errors import ConfigError
from keel.platforms.base import Platform
from keel.probing import HttpProber
from keel.rollout.engine import AnalyzerFactory, EngineSettings
from keel.rollout.gates import ExpectationsGate, NoSmokeGate, SmokeGate, SuiteGate
from keel.spec import KeelSpec
from keel.store import Store

if TYPE_CHECKING:
    from keel.platforms.local import LocalPlatform
    from keel.storeconfig import StoreLocation

STATE_DIR_ENV = "KEEL_STATE_DIR"


def state_dir(spec: KeelSpec) -> Path:
    """The project's ``.keel`` directory beside keel.yaml (or ``$KEEL_STATE_DIR``): store and local platforms."""
    override = os.environ.get(STATE_DIR_ENV)
    return Path(override).resolve() if override else spec.base_dir / ".keel"


def platform_of(spec: KeelSpec, env_name: str) -> Platform:
    """The platform of one environment of the spec."""
    from keel.platforms.config import PlatformContext
    from keel.platforms.registry import create_platform

    context = PlatformContext(spec.service, env_name, state_dir(spec), spec.probes)
    return create_platform(spec.environment(env_name), context)


def local_platform(spec: KeelSpec, env_name: str, *, auto_start: bool) -> LocalPlatform:
    """The LocalPlatform of one environment (keel up, down and status); other platforms are refused."""
    from keel.platforms.config import PlatformContext
    from keel.platforms.local import LocalPlatform
    from keel.platforms.local.config import LocalConfig

    environment = spec.environment(env_name)
    if not isinstance(environment, LocalConfig):
        raise ConfigError(
            f"{spec.source}: environment {env_name!r} runs on {environment.platform}: "
            "keel up and down manage environments with platform: local"
        )
    context = PlatformContext(spec.service, env_name, state_dir(spec), spec.probes)
    return LocalPlatform.from_config(environment, context, auto_start=auto_start)


def store_location(spec: KeelSpec) -> StoreLocation:
    """Where the spec's store is: ``$KEEL_STORE_URL``, keel.yaml's ``store``, or ``keel.db`` in the state
    directory."""
    from keel.storeconfig import resolve

    return resolve(spec.store, spec.base_dir, state_dir(spec) / "keel.db")


def open_store(spec: KeelSpec) -> Store:
    """The spec's store, scoped to the spec's service (created when it does not exist yet)."""
    return Store(store_location(spec), service=spec.service, lock_ttl=spec.store.lock_ttl)


def existing_store(spec: KeelSpec) -> Store | None:
    """The spec's store when it already exists (a dry run reads, and must not create a SQLite file)."""
    from keel.storeconfig import SqliteLocation

    location = store_location(spec)
    if isinstance(location, SqliteLocation) and not location.path.is_file():
        return None
    return Store(location, service=spec.service, lock_ttl=spec.store.lock_ttl)


def engine_settings(spec: KeelSpec, env_name: str) -> EngineSettings:
    environment = spec.environment(env_name)
    keep = environment.keep_revisions
    health = spec.gates.health
    return EngineSettings(
        health=health,
        rollback=spec.rollback,
        look_interval=spec.analysis.interval,
        max_extra_hold=spec.analysis.max_extra_hold,
        on_inconclusive=spec.analysis.on_inconclusive,
        keep_revisions=keep,
    )


def smoke_gate(spec: KeelSpec) -> SmokeGate:
    smoke = spec.gates.smoke
    if smoke is None:
        return NoSmokeGate()
    path = spec.smoke_file()
    if path is not None:
        return SuiteGate(path, smoke.deadline)
    return ExpectationsGate(smoke.checks, timeout=spec.gates.health.timeout * 2)


def analyzer_factory(spec: KeelSpec, platform: Platform) -> AnalyzerFactory:
    """Builds the analyzer once the engine knows whether there is a baseline (none on a first deploy)."""

    def build(has_baseline: bool) -> Analyzer:
        from keel.analysis.config import build_analyzer
        from keel.analysis.sources.registry import create_source

        source = create_source(spec.analysis, platform=platform)
        return build_analyzer(spec.analysis, source, has_baseline=has_baseline)

    return build


@dataclass(frozen=True)
class Wiring:
    """The parts one environment's rollouts use; tests build their own with fakes."""

    store: Store
    platform: Platform
    settings: EngineSettings
    prober: HttpProber
    smoke: SmokeGate
    analyzer: AnalyzerFactory


def wire(spec: KeelSpec, env_name: str) -> Wiring:
    from keel.secrets.delivery import with_secrets

    store = open_store(spec)
    platform = platform_of(spec, env_name)
    return Wiring(
        store=store,
        platform=with_secrets(spec, env_name, platform),  # values resolved only as a revision starts
        settings=engine_settings(spec, env_name),
        prober=HttpProber(),
        smoke=smoke_gate(spec),
        analyzer=analyzer_factory(spec, platform),
    )
