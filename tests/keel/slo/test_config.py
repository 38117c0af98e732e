"""keel.yaml's alerts: and slos: sections: defaults reproduce the review's table; bad values name file:line: key."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.slo.config import RULE_NAMES, AlertsSpec
from keel.slo.rules import BurnRate, ErrorRatio, build_rules
from keel.spec import load_spec
from keel.yamlfile import SpecError

HEAD = """\
service: demo-svc
environments:
  local: {platform: local, run: [python, -m, http.server], port: 8080}
"""


def load(tmp_path: Path, text: str) -> AlertsSpec:
    path = tmp_path / "keel.yaml"
    path.write_text(HEAD + text)
    return load_spec(path).alerts


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_defaults_reproduce_the_review_table() -> None:
    rules = build_rules(AlertsSpec(), service="bayit")
    table = [(r.name, r.severity) for r in rules]
    assert table == [
        ("ReadinessFailing", "page"),
        ("HighErrorRate", "page"),
        ("DatabaseConnectionFailures", "page"),
        ("HighLatencyP95", "warning"),
        ("ElevatedErrorRate", "warning"),
        ("ExternalApiDegraded", "warning"),
        ("SLOErrorBudgetBurn", "page"),
        ("SLOErrorBudgetBurn", "ticket"),
    ]
    assert {name for name, _ in table} == set(RULE_NAMES)
    high = rules[1].condition
    assert isinstance(high, ErrorRatio) and (high.threshold, high.window) == (0.05, 300.0)
    assert rules[0].for_ == 30.0  # two consecutive evaluations 30 s apart
    page = rules[6].condition
    assert isinstance(page, BurnRate)
    assert [(w.long, w.short, w.factor) for w in page.windows] == [(3600, 300, 14.4), (21600, 1800, 6)]
    assert page.budget == pytest.approx(0.001)


def test_a_rule_is_tuned_key_by_key_or_turned_off(tmp_path: Path) -> None:
    alerts = load(tmp_path, "alerts:\n  ElevatedErrorRate: {window: 30m}\n  HighLatencyP95: false\n")
    assert alerts.ElevatedErrorRate.threshold == 0.01  # the default stays
    assert alerts.ElevatedErrorRate.window == 1800.0
    names = [r.name for r in build_rules(alerts)]
    assert "HighLatencyP95" not in names and "ElevatedErrorRate" in names


def test_errors_name_file_line_and_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "alerts:\n"
        "  HighErrorRate: {threshold: 5}\n"
        "  routes: {page: {channel: pager}}\n"
        "  SLOErrorBudgetBurn: {windows: [{severity: page, long: 5m, short: 1h, factor: 2}]}\n"
        "  HighLatencyP95: {treshold: 1s}\n"
        "slos:\n"
        "  Fast: {objective: 99}\n"
        "  slow: {objective: 99, sli: latency}\n",
    )
    text = "\n".join(found)
    assert "keel.yaml:5: alerts.HighErrorRate.threshold: Input should be less than 1" in text
    assert "keel.yaml:6: alerts.routes.page.channel:" in text
    assert "keel.yaml:7: alerts.SLOErrorBudgetBurn.windows[0]: the short window must be shorter" in text
    assert "keel.yaml:8: alerts.HighLatencyP95.treshold: unknown key" in text
    assert "keel.yaml:10: slos.Fast" in text
    assert "keel.yaml:11: slos.slow: a latency SLO needs `latency:`" in text


def test_selector_labels_must_be_prometheus_label_names(tmp_path: Path) -> None:
    found = problems(tmp_path, "alerts:\n  signals: {selector: {job-name: bayit}}\n")
    assert any("alerts.signals: invalid label name in selector: 'job-name'" in p for p in found)
