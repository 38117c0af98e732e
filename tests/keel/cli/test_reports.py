"""What keel deploy, rollback and abort print at the end: the deciding look's metric reasons, verbatim
Markdown, and the same JSON the library returns."""

from __future__ import annotations

import json

import pytest

from keel.analysis.base import MetricResult, Outcome, Verdict
from keel.cli.reports import show_rollout
from keel.cli.terminal import OutputFormat, Terminal
from keel.rollout.phases import Cause, Kind, Phase
from keel.rollout.report import LookReport, RolloutReport
from keel.rollout.state import PlannedStep, Rollout

REASON = "error rate up: canary 20.00% (8/40) vs baseline 0.00% (0/360), ratio inf (CI [5.1]-inf)"


def _report() -> RolloutReport:
    verdict = Verdict(
        Outcome.FAIL,
        (
            MetricResult("error-rate", Outcome.FAIL, REASON, True),
            MetricResult("latency", Outcome.PASS, "no credible slow-down", True),
        ),
        "critical metric failed: error-rate",
        "compare",
    )
    rollout = Rollout(
        id="r1", kind=Kind.DEPLOY, service="svc", environment="prod", revision="svc-00002-new",
        previous="svc-00001-old", phase=Phase.ROLLED_BACK, created=1000.0, updated=1042.0, finished=1042.0,
        steps=(PlannedStep(10, 60.0),), reason="svc-00001-old serves 100% again", failed_by=Cause.ANALYSIS,
    )  # fmt: skip
    return RolloutReport(
        rollout=rollout, cause="analysis failed at 10%: critical metric failed", looks=(LookReport(0, 2, 30.0, verdict),),
        traffic=(), transitions=(), rollback=None, exit_code=1,
    )  # fmt: skip


def test_table_output_names_the_failing_metric_and_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    show_rollout(Terminal(), _report(), OutputFormat.table)
    out = capsys.readouterr().out
    assert "last look (compare judge, step 1, look 2):" in out
    assert f"error-rate: fail: {REASON}" in out  # brackets in the reason are not taken for markup
    assert "latency: pass" not in out  # a failed look shows the metrics that failed it


def test_markdown_output_is_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    show_rollout(Terminal(), _report(), OutputFormat.markdown)
    out = capsys.readouterr().out
    assert out.startswith("### keel deploy: svc → prod: ↩️ rolled back")
    assert f"| error-rate | fail | {REASON} |" in out
    assert "| latency | pass | no credible slow-down |" in out


def test_json_output_is_the_reports_own_json(capsys: pytest.CaptureFixture[str]) -> None:
    report = _report()
    show_rollout(Terminal(), report, OutputFormat.json)
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(report.to_json()))
