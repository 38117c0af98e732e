"""Every target's output for every input is pinned; promtool and amtool accept it; the generated promtool
unit tests pass (each rule fires on its fault, stays quiet on health and low traffic, resolves)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from keel.slo.render import TARGETS
from tests.keel.slo.golden import CASES, golden_path, rendered


def _tool(name: str, *candidates: str) -> str:
    for candidate in (name, *candidates):
        found = shutil.which(candidate)
        if found:
            return found
    if os.environ.get("KEEL_REQUIRE_PROMETHEUS") == "1" or os.environ.get("KEEL_REQUIRE_ALERTMANAGER") == "1":
        pytest.fail(f"{name} is not installed but CI requires it")
    pytest.skip(f"{name} is not installed (apt-get install prometheus prometheus-alertmanager)")


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("case", CASES)
def test_output_matches_golden_file(case: str, target: str) -> None:
    assert rendered(case, target) == golden_path(case, target).read_text(), (
        f"regenerate with `python -m tests.keel.slo.golden` if the change is deliberate ({case}, {target})"
    )


@pytest.mark.parametrize("case", CASES)
def test_promtool_accepts_the_rules(case: str) -> None:
    promtool = _tool("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(golden_path(case, "prometheus"))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES)
def test_amtool_accepts_the_alertmanager_config(case: str) -> None:
    amtool = _tool("amtool")
    result = subprocess.run(
        [amtool, "check-config", str(golden_path(case, "alertmanager"))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _promtool_test(case: str, tmp_path: Path) -> None:
    promtool = _tool("promtool")
    shutil.copy(golden_path(case, "prometheus"), tmp_path / "rules.yaml")
    shutil.copy(golden_path(case, "promtool-tests"), tmp_path / "tests.yaml")
    result = subprocess.run(
        [promtool, "test", "rules", "tests.yaml"], capture_output=True, text=True, cwd=tmp_path, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_promtool_unit_tests_pass_on_test_scale_windows(tmp_path: Path) -> None:
    _promtool_test("custom", tmp_path)


@pytest.mark.slow
def test_generated_promtool_unit_tests_pass_on_the_default_rules(tmp_path: Path) -> None:
    """The 3-day ticket window makes promtool evaluate three days of rules (about a minute)."""
    _promtool_test("default", tmp_path)


@pytest.mark.parametrize("case", CASES)
def test_cloudmonitoring_policies_are_what_the_api_accepts(case: str) -> None:
    """Every policy and channel parses into the official client's message types (no unknown field)."""
    import json

    from google.cloud import monitoring_v3

    doc = json.loads(golden_path(case, "cloudmonitoring").read_text())
    for policy in doc["alertPolicies"]:
        parsed = monitoring_v3.AlertPolicy.from_json(json.dumps(policy))
        assert parsed.conditions[0].condition_prometheus_query_language.query
    for channel in doc["notificationChannels"]:
        assert monitoring_v3.NotificationChannel.from_json(json.dumps(channel)).type_
    assert set(doc["routes"].values()) <= {c["displayName"] for c in doc["notificationChannels"]}


@pytest.mark.parametrize("case", CASES)
def test_cloudmonitoring_queries_are_valid_promql(case: str, tmp_path: Path) -> None:
    import json

    import yaml

    promtool = _tool("promtool")
    doc = json.loads(golden_path(case, "cloudmonitoring").read_text())
    rules = [
        {"alert": f"A{i}", "expr": p["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]}
        for i, p in enumerate(doc["alertPolicies"])
    ]
    (tmp_path / "q.yaml").write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "q.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
