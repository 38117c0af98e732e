"""The dashboard as a provisionable Grafana dashboard JSON: a Prometheus data source variable, a row per
section, the target lines as thresholds, keel's deployments as annotations, a uid stable for service and
environment."""

from __future__ import annotations

import hashlib
from typing import Any

from keel.dashboard.exports.layout import flow
from keel.dashboard.panels import Dashboard, Kind, Panel, Section, Threshold, Unit

# Grafana 12's dashboard JSON version; later Grafanas migrate it on load (nothing keel emits changes).
SCHEMA_VERSION = 41
COLUMNS = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRAFANA_ANNOTATIONS = {"type": "grafana", "uid": "-- Grafana --"}

_UNITS = {
    Unit.requests_per_second: "reqps",
    Unit.ratio: "percentunit",
    Unit.seconds: "s",
    Unit.health: "none",
    Unit.burn_rate: "suffix:x",
}
_SIZES = {Kind.stat: (6, 7), Kind.state: (9, 7), Kind.timeseries: (12, 8), Kind.events: (24, 8)}
_WIDTH = {"dependency-latency": 9}  # the health row: readiness, dependencies and their latency side by side
_HEALTH_STATES = {
    "1": ("healthy", "green"),
    "0.5": ("degraded", "yellow"),
    "0": ("unhealthy", "red"),
    "-1": ("not configured", "blue"),
}
_READY_STATES = {"1": ("ready", "green"), "0": ("not ready", "red")}


def dashboard_uid(service: str, environment: str) -> str:
    """The same service and environment always get the same uid (Grafana's limit: 40 characters), so a
    re-provisioned export replaces the dashboard instead of adding one."""
    digest = hashlib.sha256(f"{service}/{environment}".encode()).hexdigest()[:12]
    return f"keel-{service[:20]}-{digest}"


def _color(severity: str) -> str:
    return "red" if severity == "critical" else "orange"


def threshold_steps(thresholds: tuple[Threshold, ...]) -> list[dict[str, Any]]:
    """Grafana colours the band from each step's value upwards: a band is green unless a value inside it
    misses a target, then the colour of the worst target it misses."""
    values = sorted({t.value for t in thresholds})

    def band(point: float) -> str:
        missed = [
            t
            for t in thresholds
            if (t.bad == "above" and point > t.value) or (t.bad == "below" and point < t.value)
        ]
        if not missed:
            return "green"
        return "red" if any(t.severity == "critical" for t in missed) else "orange"

    if not values:
        return [{"color": "green", "value": None}]
    points = [values[0] - 1, *(
        (v + values[i + 1]) / 2 if i + 1 < len(values) else v + 1 for i, v in enumerate(values)
    )]  # fmt: skip
    steps: list[dict[str, Any]] = [{"color": band(points[0]), "value": None}]
    steps += [{"color": band(p), "value": v} for v, p in zip(values, points[1:], strict=True)]
    return steps


def _mappings(panel: Panel) -> list[dict[str, Any]]:
    if panel.unit is not Unit.health:
        return []
    states = _READY_STATES if panel.kind is Kind.stat else _HEALTH_STATES
    options = {
        value: {"text": text, "color": color, "index": i}
        for i, (value, (text, color)) in enumerate(states.items())
    }
    return [{"type": "value", "options": options}]


def _field_config(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": _UNITS[panel.unit],
        "color": {"mode": "thresholds" if panel.kind in (Kind.stat, Kind.state) else "palette-classic"},
        "thresholds": {"mode": "absolute", "steps": threshold_steps(panel.thresholds)},
        "mappings": _mappings(panel),
    }
    if panel.kind is Kind.timeseries:
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "thresholdsStyle": {"mode": "line+area" if panel.thresholds else "off"},
        }
    if panel.unit is Unit.ratio and panel.kind is Kind.stat:
        defaults["decimals"] = 3
    return {"defaults": defaults, "overrides": []}


def _options(panel: Panel) -> dict[str, Any]:
    legend = {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []}
    tooltip = {"mode": "multi", "sort": "desc"}
    if panel.kind is Kind.stat:
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        }
    if panel.kind is Kind.state:
        return {"showValue": "auto", "mergeValues": True, "alignValue": "left", "rowHeight": 0.9,
                "legend": legend, "tooltip": tooltip}  # fmt: skip
    return {"legend": legend, "tooltip": tooltip}


def _targets(panel: Panel) -> list[dict[str, Any]]:
    instant = panel.kind is Kind.stat
    return [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "expr": q.promql,
            "legendFormat": q.legend or "__auto",
            "range": not instant,
            "instant": instant,
        }
        for i, q in enumerate(panel.queries)
    ]


_TYPES = {Kind.timeseries: "timeseries", Kind.stat: "stat", Kind.state: "state-timeline"}


def _panel(panel: Panel, number: int, grid: dict[str, int], tags: tuple[str, ...]) -> dict[str, Any]:
    base: dict[str, Any] = {"id": number, "title": panel.title, "description": panel.description,
                            "gridPos": grid}  # fmt: skip
    if panel.kind is Kind.events:
        return {
            **base,
            "type": "annolist",
            "options": {
                "onlyFromThisDashboard": False,
                "onlyInTimeRange": True,
                "tags": list(tags),
                "limit": 50,
                "showUser": True,
                "showTime": True,
                "showTags": True,
                "navigateToPanel": False,
                "navigateBefore": "10m",
                "navigateAfter": "10m",
            },
        }
    return {
        **base,
        "type": _TYPES[panel.kind],
        "datasource": DATASOURCE,
        "targets": _targets(panel),
        "fieldConfig": _field_config(panel),
        "options": _options(panel),
    }


def _annotations(dashboard: Dashboard) -> dict[str, Any]:
    marks = dashboard.deployments
    return {
        "list": [
            {
                "datasource": GRAFANA_ANNOTATIONS,
                "enable": True,
                "hide": False,
                "iconColor": "purple",
                "name": "keel deployments",
                "target": {"type": "tags", "tags": list(marks.tags), "matchAny": False, "limit": 100},
            },
            {
                "datasource": DATASOURCE,
                "enable": True,
                "hide": False,
                "iconColor": "orange",
                "name": "Process restarts",
                "expr": marks.restarts_promql,
            },
        ]
    }


def _templating() -> dict[str, Any]:
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Prometheus",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "refresh": 1,
                "regex": "",
                "options": [],
                "includeAll": False,
                "multi": False,
            }
        ]
    }


def grafana_dashboard(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard JSON a Grafana provisioning file (or the import dialog) loads as it is."""
    panels: list[dict[str, Any]] = []
    top, number = 0, 1
    for section in Section:
        members = dashboard.section(section)
        if not members:
            continue
        panels.append({"id": number, "type": "row", "title": section.value, "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": COLUMNS, "x": 0, "y": top}})  # fmt: skip
        number += 1
        sizes = [(_WIDTH.get(p.id, _SIZES[p.kind][0]), _SIZES[p.kind][1]) for p in members]
        boxes, top = flow(sizes, COLUMNS, top + 1)
        for panel, box in zip(members, boxes, strict=True):
            grid = {"h": box.h, "w": box.w, "x": box.x, "y": box.y}
            panels.append(_panel(panel, number, grid, dashboard.deployments.tags))
            number += 1
    return {
        "annotations": _annotations(dashboard),
        "description": f"Generated by keel from keel.yaml (keel dashboard export --target grafana --env "
        f"{dashboard.environment}). Edit keel.yaml and export again rather than this dashboard.",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [],
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["keel", dashboard.service, dashboard.environment],
        "templating": _templating(),
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": f"{dashboard.title}: keel",
        "uid": dashboard_uid(dashboard.service, dashboard.environment),
        "version": 1,
        "weekStart": "",
    }
