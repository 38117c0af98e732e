"""What keel deploy prints at the end: the deciding look's metric reasons, verbatim Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from keel.cli.deploy import emit_result
from keel.cli.terminal import OutputFormat, Terminal

REASON = "error rate up: canary 20.00% (8/40) vs baseline 0.00% (0/360), ratio inf (CI [5.1]-inf)"


def _result() -> dict[str, Any]:
    last = {
        "step": 0,
        "look": 2,
        "outcome": "fail",
        "judge": "compare",
        "summary": "critical metric failed: error-rate",
        "metrics": [
            {"metric": "error-rate", "outcome": "fail", "critical": True, "reason": REASON, "data": {}},
            {"metric": "latency", "outcome": "pass", "critical": True, "reason": "no credible slow-down"},
        ],
    }
    return {
        "schema": "keel.rollout/v1", "rollout": "r1", "kind": "deploy", "service": "svc", "environment": "prod",
        "revision": "svc-00002-new", "previous": "svc-00001-old", "phase": "rolled_back",
        "reason": "svc-00001-old serves 100% again", "cause": "analysis failed at 10%: critical metric failed",
        "duration_s": 42.0, "steps": [{"weight": 10, "hold_s": 60.0}], "gates": {}, "traffic": [],
        "verdicts": [{**{k: last[k] for k in ("step", "look", "outcome", "judge", "summary")}, "t_s": 30.0,
                      "canary": None, "baseline": None, "limits": {}, "metrics": []}],
        "last_verdict": last, "rollback": None, "notifications": {"failures": []}, "exit_code": 1,
    }  # fmt: skip


def test_table_output_names_the_failing_metric_and_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    emit_result(Terminal(), _result(), OutputFormat.table)
    out = capsys.readouterr().out
    assert "last look (compare judge, step 1, look 2):" in out
    assert f"error-rate: fail: {REASON}" in out  # brackets in the reason are not taken for markup
    assert "latency: pass" not in out  # a failed look shows the metrics that failed it


def test_markdown_output_is_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    emit_result(Terminal(), _result(), OutputFormat.markdown)
    out = capsys.readouterr().out
    assert out.startswith("### keel deploy: svc → prod: ↩️ rolled back")
    assert f"| error-rate | fail | {REASON} |" in out
    assert "| latency | pass | no credible slow-down |" in out
