"""The JSON report is the stable, documented document CI parses."""

from __future__ import annotations

import json

from keel.smoke import SmokeReport
from keel.smoke.formats.json import JsonFormat


def test_json_report(report: SmokeReport) -> None:
    data = json.loads(JsonFormat().render(report))
    assert data["schema"] == "keel.smoke/v1"
    assert data["passed"] is False
    assert data["summary"] == {"total": 5, "passed": 2, "failed": 2, "skipped": 1}
    assert [f["check"] for f in data["failures"]] == ["api/items", "compare/health"]
    assert data["failures"][1]["kind"] == "regression"
    check = data["checks"][1]
    assert check["kind"] == "assertion_failed" and check["status"] == 200 and check["outcome"] == "failed"
    latency = data["latency"][0]
    assert latency["p50_s"] == 0.02 and latency["samples"] == 3 and latency["threshold_s"] == 0.1
    comparison = data["comparisons"][0]
    assert (
        comparison["ratio"] == 1.3
        and comparison["lower_bound"] == 1.2
        and comparison["upper_bound"] == 1.4
        and comparison["samples"] == 10
    )


def test_json_report_is_pinned_by_its_golden_file(report: SmokeReport) -> None:
    from tests.support.golden import assert_golden

    assert_golden("smoke/report-v1.json", JsonFormat().render(report))
