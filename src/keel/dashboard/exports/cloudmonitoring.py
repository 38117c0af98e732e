"""The dashboard as a Cloud Monitoring dashboard (Dashboards API v1 JSON, camelCase): a ``mosaicLayout`` of
tiles, a section header per section, charts whose data sets read PromQL (Managed Service for Prometheus data)
or, for Google Cloud's own metrics, a Monitoring filter, and the target lines as thresholds."""

from __future__ import annotations

from typing import Any

from keel.dashboard.exports.layout import flow
from keel.dashboard.panels import CloudQuery, Dashboard, Kind, Panel, Section, Threshold, Unit

COLUMNS = 48
ALIGNMENT_PERIOD = "60s"

_UNITS = {
    Unit.requests_per_second: "1/s",
    Unit.ratio: "10^2.%",  # a 0..1 ratio shown as a percentage
    Unit.seconds: "s",
    Unit.health: "1",
    Unit.burn_rate: "1",
}
_SIZES = {Kind.stat: (12, 14), Kind.state: (18, 14), Kind.timeseries: (24, 16), Kind.events: (48, 16)}
_WIDTH = {"dependency-latency": 18}


def label_value(value: str) -> str:
    """Dashboard label values: lowercase letters, digits, underscores and dashes."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in value.lower())[:63]


def _threshold(t: Threshold) -> dict[str, Any]:
    return {
        "label": t.label,
        "value": t.value,
        "color": "RED" if t.severity == "critical" else "YELLOW",
        "direction": "ABOVE" if t.bad == "above" else "BELOW",
        "targetAxis": "Y1",
    }


def _query(query: CloudQuery, unit: Unit) -> dict[str, Any]:
    out: dict[str, Any]
    if query.prometheus:
        out = {"prometheusQuery": query.prometheus}
    else:
        aggregation: dict[str, Any] = {"alignmentPeriod": ALIGNMENT_PERIOD, "perSeriesAligner": query.aligner}
        if query.reducer:
            aggregation["crossSeriesReducer"] = query.reducer
            aggregation["groupByFields"] = list(query.group_by)
        out = {"timeSeriesFilter": {"filter": query.filter, "aggregation": aggregation}}
    out["unitOverride"] = _UNITS[unit]
    return out


def _widget(panel: Panel) -> dict[str, Any]:
    title = panel.title
    if not panel.cloud_queries:
        return {"title": title, "text": {"content": _no_query_text(panel), "format": "MARKDOWN"}}
    thresholds = [_threshold(t) for t in panel.thresholds]
    if panel.kind is Kind.stat:
        scorecard: dict[str, Any] = {
            "timeSeriesQuery": _query(panel.cloud_queries[0], panel.unit),
            "sparkChartView": {"sparkChartType": "SPARK_LINE"},
        }
        if thresholds:
            scorecard["thresholds"] = thresholds
        return {"title": title, "scorecard": scorecard}
    plot = "STACKED_AREA" if panel.kind is Kind.events else "LINE"
    data_sets = []
    for query in panel.cloud_queries:
        data_set: dict[str, Any] = {
            "timeSeriesQuery": _query(query, panel.unit),
            "plotType": plot,
            "targetAxis": "Y1",
            "minAlignmentPeriod": ALIGNMENT_PERIOD,
        }
        if query.legend:
            data_set["legendTemplate"] = query.legend
        data_sets.append(data_set)
    chart: dict[str, Any] = {
        "dataSets": data_sets,
        "yAxis": {"scale": "LINEAR"},
        "chartOptions": {"mode": "COLOR"},
    }
    if thresholds:
        chart["thresholds"] = thresholds
    return {"title": title, "xyChart": chart}


def _no_query_text(panel: Panel) -> str:
    if panel.kind is Kind.events:
        return (
            "keel records releases in its store, not in Cloud Monitoring: see `keel status`, the keel dashboard "
            "or the release reports. On Cloud Run this tile shows requests per revision."
        )
    return panel.description


def cloudmonitoring_dashboard(dashboard: Dashboard) -> dict[str, Any]:
    """The body of ``projects.dashboards.create`` (``gcloud monitoring dashboards create --config-from-file``)."""
    tiles: list[dict[str, Any]] = []
    top = 0
    for section in Section:
        members = dashboard.section(section)
        if not members:
            continue
        tiles.append({"xPos": 0, "yPos": top, "width": COLUMNS, "height": 4,
                      "widget": {"title": section.value, "sectionHeader": {"dividerBelow": True}}})  # fmt: skip
        sizes = [(_WIDTH.get(p.id, _SIZES[p.kind][0]), _SIZES[p.kind][1]) for p in members]
        boxes, top = flow(sizes, COLUMNS, top + 4)
        for panel, box in zip(members, boxes, strict=True):
            widget = {**_widget(panel), "id": panel.id}
            tiles.append({"xPos": box.x, "yPos": box.y, "width": box.w, "height": box.h, "widget": widget})
    return {
        "displayName": f"{dashboard.title}: keel",
        "labels": {
            "managed_by": "keel",
            "service": label_value(dashboard.service),
            "environment": label_value(dashboard.environment),
        },
        "mosaicLayout": {"columns": COLUMNS, "tiles": tiles},
    }
