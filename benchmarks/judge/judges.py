"""keel's comparison judge as the benchmark drives it (the real class, every default).

It runs one canary step of one replica and returns a StepResult: how it ended, when, and the canary's
requests by then. The Flagger-style and Kayenta-style baselines are in baselines.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from traffic import BOUNDS, EXTRA_S, HOLD_S, SLOT_S, Revision, StepTraffic

from keel.analysis.base import LatencyHistogram, Look, Outcome, RevisionWindow
from keel.analysis.config import AnalysisSpec
from keel.analysis.judges.compare import CompareJudge

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass
class StepResult:
    outcome: str  # pass | fail | inconclusive (held to the limit without a verdict)
    seconds: float  # time from the start of the step to the verdict
    canary_requests: int  # canary requests seen by then


def _window(rev: Revision, rep: int, slot: int, name: str) -> RevisionWindow:
    counts = tuple(int(c) for c in rev.latency[rep, slot])
    return RevisionWindow(
        name,
        0.0,
        slot * SLOT_S,
        int(rev.requests[rep, slot]),
        int(rev.errors[rep, slot]),
        LatencyHistogram(BOUNDS, counts),
    )


class KeelJudge:
    """keel's comparison judge with its defaults: a look every 30 s, inconclusive steps held up to 10 min."""

    name = "keel"

    def __init__(self) -> None:
        self.spec = AnalysisSpec()
        self.judge = CompareJudge(self.spec)
        self.interval = int(self.spec.interval)

    def run(self, traffic: StepTraffic, rep: int, step: int) -> StepResult:
        t = self.interval
        while t <= HOLD_S + EXTRA_S:
            slot = t // SLOT_S
            canary = _window(traffic.canary, rep, slot, "canary")
            baseline = _window(traffic.baseline, rep, slot, "baseline")
            verdict = self.judge.judge(canary, baseline, Look(step, t // self.interval, 0.0, t, HOLD_S))
            if verdict.outcome is Outcome.FAIL:
                return StepResult(FAIL, t, canary.requests)
            if verdict.outcome is Outcome.PASS and t >= HOLD_S:
                return StepResult(PASS, t, canary.requests)
            t += self.interval
        return StepResult(INCONCLUSIVE, HOLD_S + EXTRA_S, int(traffic.canary.requests[rep, -1]))
