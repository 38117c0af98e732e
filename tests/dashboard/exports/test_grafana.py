"""The Grafana export: every key is one Grafana's dashboard schema knows (as the Grafana Foundation SDK
models it, panel plug-ins and Prometheus queries included), panels sit on the grid without overlapping, the
review's targets are threshold lines, and the uid depends on service and environment only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keel.dashboard.exports.grafana import dashboard_uid, grafana_dashboard, threshold_steps
from keel.dashboard.panels import Threshold
from tests.dashboard.exports.golden import CASES, dashboard


def _lost(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Paths of our keys the schema model dropped or read differently."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [path]
        return [
            p
            for key, value in ours.items()
            for p in ([f"{path}.{key}"] if key not in theirs else _lost(value, theirs[key], f"{path}.{key}"))
        ]
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [path]
        return [
            p for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for p in _lost(a, b, f"{path}[{i}]")
        ]
    return [] if ours == theirs else [f"{path}: {ours!r} read as {theirs!r}"]


@pytest.mark.parametrize("case", CASES)
def test_grafana_schema_knows_every_key(case: str) -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    ours = grafana_dashboard(dashboard(case))
    theirs = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
    assert _lost(ours, theirs) == []


def test_the_schema_check_catches_a_typo() -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    ours = grafana_dashboard(dashboard("custom"))
    ours["panels"][1]["fieldConfig"]["defaults"]["treshold"] = {}
    ours["panels"][2]["options"]["legend"]["placment"] = "bottom"
    theirs = json.loads(json.dumps(Dashboard.from_json(ours), cls=JSONEncoder))
    assert _lost(ours, theirs) == [
        ".panels[1].fieldConfig.defaults.treshold",
        ".panels[2].options.legend.placment",
    ]


@pytest.mark.parametrize("case", CASES)
def test_panels_tile_the_grid_without_overlap(case: str) -> None:
    doc = grafana_dashboard(dashboard(case))
    cells: set[tuple[int, int]] = set()
    for panel in doc["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, panel["title"]
        cells |= mine
    assert len({p["id"] for p in doc["panels"]}) == len(doc["panels"])


def test_targets_are_threshold_lines_and_queries_use_the_datasource_variable() -> None:
    doc = grafana_dashboard(dashboard("cloudrun"))
    panels = {p["title"]: p for p in doc["panels"]}
    latency = panels["Latency p50 / p95 / p99"]
    steps = latency["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 0.2, 0.5, 2.0]
    assert steps[-1]["color"] == "red" and steps[0]["color"] == "green"
    assert latency["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line+area"
    assert [t["legendFormat"] for t in latency["targets"]] == ["p50", "p95", "p99"]
    assert panels["Error rate"]["fieldConfig"]["defaults"]["thresholds"]["steps"][1] == {
        "color": "red",
        "value": 0.01,
    }
    assert panels["5xx rate"]["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.001
    variable = doc["templating"]["list"][0]
    assert (variable["type"], variable["query"], variable["name"]) == (
        "datasource",
        "prometheus",
        "datasource",
    )
    for panel in doc["panels"]:
        for target in panel.get("targets", ()):
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    marks = doc["annotations"]["list"][0]["target"]
    assert marks["tags"] == ["keel", "deploy", "service:bayit-plus-backend", "environment:production"]
    assert (
        panels["Deployments"]["type"] == "annolist"
        and panels["Deployments"]["options"]["tags"] == marks["tags"]
    )


def test_burn_rate_reads_keel_recording_rules() -> None:
    doc = grafana_dashboard(dashboard("cloudrun"))
    burn = next(p for p in doc["panels"] if p["title"] == "SLO availability: burn rate")
    assert [t["expr"] for t in burn["targets"]] == [
        f'keel_slo:sli_error:ratio_rate{w}{{environment="production",service="bayit-plus-backend",slo="availability"}} / 0.001'
        for w in ("1h", "6h", "72h")
    ]


def test_uid_is_stable_per_service_and_environment() -> None:
    uid = dashboard_uid("bayit-plus-backend", "production")
    assert uid == dashboard_uid("bayit-plus-backend", "production")
    assert uid != dashboard_uid("bayit-plus-backend", "staging") != dashboard_uid("bayit", "production")
    assert len(dashboard_uid("a" * 50, "b" * 30)) <= 40
    assert grafana_dashboard(dashboard("cloudrun"))["uid"] == uid


def test_threshold_bands_take_the_worst_missed_target() -> None:
    health = (
        Threshold(1, "healthy", bad="below", severity="warning"),
        Threshold(0.5, "degraded", bad="below"),
    )
    assert threshold_steps(health) == [
        {"color": "red", "value": None},
        {"color": "orange", "value": 0.5},
        {"color": "green", "value": 1},
    ]
    assert threshold_steps(()) == [{"color": "green", "value": None}]
