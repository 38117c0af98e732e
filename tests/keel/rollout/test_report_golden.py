"""The documented ``keel.rollout/v1`` JSON and its Markdown summary, pinned by golden files: a canary judged by
the comparison judge on recorded traffic (fake clock, fixed ids), promoted, and one rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.analysis.analyzer import WindowAnalyzer
from keel.analysis.config import AnalysisSpec
from keel.analysis.judges.compare import CompareJudge
from keel.analysis.judges.thresholds import ThresholdJudge
from keel.analysis.sources.memory import MemorySource
from keel.output import render
from keel.rollout.report import build_report
from keel.rollout.runner import new_deploy, run_to_rest
from tests.keel.rollout.fakes import STEPS, Rig
from tests.support.golden import assert_golden

OLD = "svc-00000-old"


@pytest.mark.parametrize(("name", "error_every"), [("promoted", 0), ("rolled-back", 4)])
async def test_rollout_report_golden(tmp_path: Path, name: str, error_every: int) -> None:
    rig = Rig(tmp_path)
    rig.platform.add_serving(OLD)
    source = MemorySource()
    rig.analyzer = WindowAnalyzer(  # type: ignore[assignment]
        source, CompareJudge(AnalysisSpec()), fallback=ThresholdJudge(AnalysisSpec())
    )
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="goldenaa"
    )
    for second in range(0, 600, 2):
        at = rig.clock.now + second
        source.record(OLD, at, latencies=[0.02 + 0.001 * (i % 7) for i in range(20)])
        errors = 1 if error_every and second % error_every == 0 else 0
        source.record(
            rollout.revision, at, latencies=[0.02 + 0.001 * (i % 5) for i in range(4)], errors=errors
        )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    report = build_report(rig.store, final, notify_failures=["slack (promoted): timed out after 3s"])
    assert_golden(f"rollout/{name}-v1.json", render(report, "json"))
    assert_golden(f"rollout/{name}-v1.md", render(report, "markdown"))
    rig.store.close()
