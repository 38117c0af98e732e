"""A Dashboard from keel.yaml: the spec's store, and for a local environment its router and revisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keel.dashboard.api import Dashboard

if TYPE_CHECKING:
    from keel.platforms.base import Platform
    from keel.spec import KeelSpec
    from keel.store import Store


def dashboard_of(spec: KeelSpec, environment: str, *, timeout: float = 3.0) -> Dashboard:
    """Reads the store (opened, scoped to the service); a local environment also gives the router's
    per-revision windows, readiness through the router and each serving revision's /metrics."""
    from keel.dashboard.service import HttpProbe
    from keel.platforms.local.config import LocalConfig
    from keel.rollout.wiring import local_platform, open_store, platform_of

    config = spec.environment(environment)
    store = open_store(spec)
    source = spec.analysis.source
    if not isinstance(config, LocalConfig):
        if source == "router":
            note = (
                f"environment {environment} runs on {config.platform} and analysis.source is the local router: "
                "health and performance need a metric source (analysis.source: prometheus or cloudmonitoring); "
                "deployments, traffic and DORA come from the store"
            )
            return Dashboard(store, spec.service, environment, spec.slos, notes=[note])
        return _with_source(spec, environment, store, platform_of(spec, environment))
    platform = local_platform(spec, environment, auto_start=False)

    async def serving() -> list[str]:
        weights = (await platform.traffic()).weights
        return [r.url for r in await platform.revisions() if weights.get(r.name, 0) > 0]

    probe = HttpProbe(platform.url + spec.gates.health.path, serving, timeout)
    if source != "router":
        board = _with_source(spec, environment, store, platform)
        board.probe = probe
        return board
    return Dashboard(store, spec.service, environment, spec.slos, windows=platform, probe=probe)


def _with_source(spec: KeelSpec, environment: str, store: Store, platform: Platform) -> Dashboard:
    """Performance and SLOs from the analysis' metric source (what the canary judge reads)."""
    from keel.analysis.sources.registry import create_source
    from keel.dashboard.series import SourceWindows
    from keel.errors import KeelError

    try:
        windows = SourceWindows(platform, create_source(spec.analysis, platform=platform))
    except KeelError as exc:
        note = f"metric source {spec.analysis.source}: {exc}"
        return Dashboard(store, spec.service, environment, spec.slos, notes=[note])
    return Dashboard(
        store, spec.service, environment, spec.slos, windows=windows, source=spec.analysis.source
    )
