"""Both exports of every golden case are pinned byte for byte, and every PromQL query in them is one
Prometheus parses (promtool)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from keel.dashboard.exports import TARGETS
from tests.dashboard.exports.golden import CASES, golden_name, rendered
from tests.support.golden import assert_golden


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("case", CASES)
def test_export_matches_golden_file(case: str, target: str) -> None:
    assert_golden(golden_name(case, target), rendered(case, target))


def _grafana_queries(doc: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", ())]
    exprs += [a["expr"] for a in doc["annotations"]["list"] if "expr" in a]
    # $__rate_interval is Grafana's to fill in before the query reaches Prometheus.
    return [e.replace("$__rate_interval", "5m") for e in exprs]


def _cloud_queries(doc: dict[str, Any]) -> list[str]:
    out = []
    for tile in doc["mosaicLayout"]["tiles"]:
        widget = tile["widget"]
        queries = [d["timeSeriesQuery"] for d in widget.get("xyChart", {}).get("dataSets", ())]
        if "scorecard" in widget:
            queries.append(widget["scorecard"]["timeSeriesQuery"])
        out += [q["prometheusQuery"] for q in queries if "prometheusQuery" in q]
    return out


@pytest.mark.parametrize("case", CASES)
def test_every_query_is_valid_promql(case: str, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("KEEL_REQUIRE_PROMETHEUS") == "1":
            pytest.fail("promtool is not installed but KEEL_REQUIRE_PROMETHEUS=1 (CI installs it)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    queries = _grafana_queries(json.loads(rendered(case, "grafana")))
    queries += _cloud_queries(json.loads(rendered(case, "cloudmonitoring")))
    assert len(queries) > 15
    rules = [{"record": f"q{i}", "expr": q} for i, q in enumerate(queries)]
    (tmp_path / "q.yaml").write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "q.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
