"""The panel definitions: the recording rules the burn-rate panels read are the ones keel's Prometheus rules
define; without burn-rate alerts the burn is computed in place; every panel has both targets' queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from keel.dashboard.panels import Kind, Section, dashboard_for
from keel.slo.render import render
from keel.spec import load_spec
from keel.yamlfile import SpecError
from tests.dashboard.exports.golden import DATA


def test_burn_rate_panels_read_rules_that_keel_alerts_render_defines() -> None:
    spec = load_spec(DATA / "in-custom.yaml")
    rules = yaml.safe_load(
        render("prometheus", spec.alerts, spec.slos, spec.notify.channels, spec.service, "local")
    )
    recorded = {
        (r["record"], r["labels"]["slo"]) for g in rules["groups"] for r in g["rules"] if "record" in r
    }
    board = dashboard_for(spec, "local")
    used = [
        (m.group(1), m.group(2))
        for p in board.panels
        for q in p.queries
        for m in re.finditer(r'(keel_slo:[a-z_:0-9]+)\{[^}]*slo="([^"]+)"', q.promql)
    ]
    assert len(used) == 4  # two SLOs, two burn windows each
    assert set(used) <= recorded


def test_without_burn_rate_alerts_the_burn_is_computed_in_place(tmp_path: Path) -> None:
    text = (DATA / "in-custom.yaml").read_text().split("  SLOErrorBudgetBurn:")[
        0
    ] + "  SLOErrorBudgetBurn: false\n"
    (tmp_path / "keel.yaml").write_text(text)
    board = dashboard_for(load_spec(tmp_path / "keel.yaml"), "local")
    burn = next(p for p in board.panels if p.id == "slo-availability-burn-rate")
    assert [q.legend for q in burn.queries] == ["1h window"]
    assert "keel_slo:" not in burn.queries[0].promql and "[1h]" in burn.queries[0].promql


def test_every_panel_has_queries_for_both_targets_or_says_why_not() -> None:
    board = dashboard_for(load_spec(DATA / "in-cloudrun.yaml"), "production")
    assert [s for s in Section if board.section(s)] == list(Section)
    for panel in board.panels:
        if panel.kind is Kind.events:
            assert panel.queries == () and panel.cloud_queries  # annotations in Grafana, Cloud Run revisions
            continue
        assert panel.queries and panel.cloud_queries, panel.id
        assert all("$__rate_interval" not in q.prometheus for q in panel.cloud_queries), panel.id


def test_an_unknown_environment_names_the_known_ones() -> None:
    with pytest.raises(SpecError, match="no environment 'prod' \\(known: production\\)"):
        dashboard_for(load_spec(DATA / "in-cloudrun.yaml"), "prod")
