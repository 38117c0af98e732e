"""The Cloud Monitoring export parses into the official client's Dashboard message with unknown fields refused
(a misspelt field or enum fails), its tiles fit the 48-column mosaic without overlapping, and the deployments
tile reads Cloud Run's own per-revision metric where the environment runs on Cloud Run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.cloud.monitoring_dashboard_v1.types import Dashboard

from keel.dashboard.exports.cloudmonitoring import cloudmonitoring_dashboard
from tests.dashboard.exports.golden import CASES, dashboard


def _parse(doc: dict[str, Any]) -> Dashboard:
    return Dashboard.from_json(json.dumps(doc), ignore_unknown_fields=False)


@pytest.mark.parametrize("case", CASES)
def test_the_api_message_accepts_the_export(case: str) -> None:
    doc = cloudmonitoring_dashboard(dashboard(case))
    parsed = _parse(doc)
    assert parsed.display_name == doc["displayName"]
    assert len(parsed.mosaic_layout.tiles) == len(doc["mosaicLayout"]["tiles"])
    latency = next(t.widget for t in parsed.mosaic_layout.tiles if t.widget.title.startswith("Latency"))
    assert [t.value for t in latency.xy_chart.thresholds] == [0.2, 0.5, 2.0]
    assert latency.xy_chart.data_sets[0].time_series_query.prometheus_query.startswith(
        "histogram_quantile(0.5,"
    )


def test_a_misspelt_field_or_enum_is_refused() -> None:
    doc = cloudmonitoring_dashboard(dashboard("cloudrun"))
    doc["mosaicLayout"]["tiles"][1]["widget"]["scorecard"]["treshholds"] = []
    with pytest.raises(Exception, match="treshholds"):
        _parse(doc)
    doc = cloudmonitoring_dashboard(dashboard("cloudrun"))
    doc["mosaicLayout"]["tiles"][1]["widget"]["scorecard"]["thresholds"][0]["color"] = "CRIMSON"
    with pytest.raises(Exception, match="CRIMSON"):
        _parse(doc)


@pytest.mark.parametrize("case", CASES)
def test_tiles_fit_the_mosaic_without_overlap(case: str) -> None:
    doc = cloudmonitoring_dashboard(dashboard(case))
    cells: set[tuple[int, int]] = set()
    for tile in doc["mosaicLayout"]["tiles"]:
        assert tile["xPos"] + tile["width"] <= doc["mosaicLayout"]["columns"] == 48
        mine = {
            (x, y)
            for x in range(tile["xPos"], tile["xPos"] + tile["width"])
            for y in range(tile["yPos"], tile["yPos"] + tile["height"])
        }
        assert not cells & mine, tile["widget"]["title"]
        cells |= mine


def test_deployments_on_cloud_run_read_requests_per_revision() -> None:
    tiles = {
        t["widget"]["title"]: t["widget"]
        for t in cloudmonitoring_dashboard(dashboard("cloudrun"))["mosaicLayout"]["tiles"]
    }
    query = tiles["Deployments"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"]
    assert 'metric.type="run.googleapis.com/request_count"' in query["filter"]
    assert 'resource.label."service_name"="bayit-plus-backend"' in query["filter"]
    assert query["aggregation"]["groupByFields"] == ['resource.label."revision_name"']
    local = {
        t["widget"]["title"]: t["widget"]
        for t in cloudmonitoring_dashboard(dashboard("custom"))["mosaicLayout"]["tiles"]
    }
    assert "keel status" in local["Deployments"]["text"]["content"]


def test_burn_rate_is_computed_in_place_without_recording_rules() -> None:
    doc = cloudmonitoring_dashboard(dashboard("cloudrun"))
    burn = next(
        t["widget"] for t in doc["mosaicLayout"]["tiles"] if t["widget"]["title"].endswith("burn rate")
    )
    queries = [d["timeSeriesQuery"]["prometheusQuery"] for d in burn["xyChart"]["dataSets"]]
    assert not any("keel_slo:" in q for q in queries)
    assert queries[0].startswith('((sum(increase(http_requests_total{status=~"5.."}[1h]))')
    assert [t["value"] for t in burn["xyChart"]["thresholds"]] == [14.4, 6, 1]


def test_legends_use_cloud_monitorings_template_syntax() -> None:
    doc = cloudmonitoring_dashboard(dashboard("custom"))
    legends = {
        t["widget"]["title"]: [d.get("legendTemplate") for d in t["widget"]["xyChart"]["dataSets"]]
        for t in doc["mosaicLayout"]["tiles"]
        if "xyChart" in t["widget"]
    }
    assert legends["Errors by route"] == ["${route}"] and legends["Errors by status"] == ["${status}"]
    assert legends["Dependencies"] == ["${check}"] and legends["Latency p50 / p95 / p99"] == [
        "p50",
        "p95",
        "p99",
    ]
    assert not any("{{" in (legend or "") for values in legends.values() for legend in values)
