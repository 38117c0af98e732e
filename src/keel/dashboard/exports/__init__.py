"""Exports of the dashboard's panels to other tools: Grafana and Cloud Monitoring dashboard JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keel.dashboard.panels import Dashboard
from keel.errors import ConfigError


def _grafana(dashboard: Dashboard) -> dict[str, Any]:
    from keel.dashboard.exports.grafana import grafana_dashboard

    return grafana_dashboard(dashboard)


def _cloudmonitoring(dashboard: Dashboard) -> dict[str, Any]:
    from keel.dashboard.exports.cloudmonitoring import cloudmonitoring_dashboard

    return cloudmonitoring_dashboard(dashboard)


TARGETS: dict[str, Callable[[Dashboard], dict[str, Any]]] = {
    "grafana": _grafana,
    "cloudmonitoring": _cloudmonitoring,
}


def export(target: str, dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as ``target`` reads it; an unknown target is a ConfigError listing the known ones."""
    try:
        build = TARGETS[target]
    except KeyError:
        raise ConfigError(f"unknown dashboard target {target!r} (known: {', '.join(TARGETS)})") from None
    return build(dashboard)


def render(target: str, dashboard: Dashboard) -> str:
    """The JSON text written to a file or stdout: stable key order, two-space indent, a final newline."""
    import json

    return json.dumps(export(target, dashboard), indent=2, ensure_ascii=False) + "\n"
