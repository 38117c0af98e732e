"""A Dashboard from keel.yaml: the spec's store, and for a local environment its router and revisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keel.dashboard.api import Dashboard

if TYPE_CHECKING:
    from keel.spec import KeelSpec


def dashboard_of(spec: KeelSpec, environment: str, *, timeout: float = 3.0) -> Dashboard:
    """Reads the store (opened, scoped to the service); a local environment also gives the router's
    per-revision windows, readiness through the router and each serving revision's /metrics."""
    from keel.dashboard.service import HttpProbe
    from keel.platforms.local.config import LocalConfig
    from keel.rollout.wiring import local_platform, open_store

    config = spec.environment(environment)
    store = open_store(spec)
    if not isinstance(config, LocalConfig):
        note = (
            f"environment {environment} runs on {config.platform}: health and performance panels need the local "
            "router (or Prometheus, not wired yet); deployments, traffic and DORA come from the store"
        )
        return Dashboard(store, spec.service, environment, spec.slos, notes=[note])
    platform = local_platform(spec, environment, auto_start=False)

    async def serving() -> list[str]:
        weights = (await platform.traffic()).weights
        return [r.url for r in await platform.revisions() if weights.get(r.name, 0) > 0]

    probe = HttpProbe(platform.url + spec.gates.health.path, serving, timeout)
    return Dashboard(store, spec.service, environment, spec.slos, windows=platform, probe=probe)
