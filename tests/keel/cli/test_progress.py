"""The progress view: event lines off a terminal, and the live panel's phase, weight, hold and metrics."""

from __future__ import annotations

import time

import pytest
from rich.console import Console

from keel.analysis.base import MetricResult, Outcome, Verdict
from keel.cli.progress import RolloutView
from keel.cli.terminal import Terminal
from keel.notify.base import Event, Severity
from keel.rollout.phases import Kind, Phase
from keel.rollout.state import PlannedStep, Rollout


def test_event_lines_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with RolloutView(Terminal(), live=True) as view:  # stderr is not a terminal here: no Live panel
        view.on_event(Event("rolling_back", "Rolling back", "analysis failed at 10%", Severity.WARNING))
    assert "Rolling back: analysis failed at 10%" in capsys.readouterr().err


def test_panel_shows_phase_weight_hold_left_and_metrics() -> None:
    now = time.time()
    rollout = Rollout(
        id="r-1", kind=Kind.DEPLOY, service="svc", environment="prod", revision="svc-00002-abc",
        previous="svc-00001-xyz", phase=Phase.HOLDING, created=now, updated=now,
        steps=(PlannedStep(10, 600.0), PlannedStep(100, 0.0)), step=0, weight=10, step_started=now - 100,
        last_verdict=Verdict(Outcome.PASS, (MetricResult("error-rate", Outcome.PASS,
                             "canary 0.10% vs baseline 0.12%"),), "all metrics passed", "compare"),
    )  # fmt: skip
    view = RolloutView(Terminal(), live=False)
    view.on_tick(rollout)
    console = Console(record=True, width=120)
    console.print(view._render())
    text = console.export_text()
    assert "holding" in text and "svc-00002-abc  (previous: svc-00001-xyz)" in text
    assert "1/2: 10% to the new revision" in text
    assert "500s left of 600s" in text or "499s left of 600s" in text
    assert "error-rate" in text and "canary 0.10% vs baseline 0.12%" in text
