"""keel's comparison judge as the benchmark drives it: the real analyzer (``build_analyzer`` with every
default, so the warm-up, the cold-start allowance and the window checks of the code under test apply) on a
metric source that serves the simulated traffic.

It runs one canary step of one replica and returns a StepResult: how it ended, when, and the canary's
requests by then. The Flagger-style and Kayenta-style baselines are in baselines.py.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from traffic import EXTRA_S, HOLD_S, SLOT_S, Revision, StepTraffic

from keel.analysis.base import LatencyHistogram, Look, Outcome, RevisionWindow, Verdict
from keel.analysis.config import AnalysisSpec, build_analyzer

PASS, FAIL, INCONCLUSIVE, CRASH = "pass", "fail", "inconclusive", "crash"

Corrupt = Callable[[RevisionWindow], RevisionWindow]


@dataclass
class StepResult:
    outcome: str  # pass | fail | inconclusive (held to the limit without a verdict) | crash
    seconds: float  # time from the start of the step to the verdict
    canary_requests: int  # canary requests seen by then


class ArraySource:
    """A MetricSource over one replica's cumulative arrays: the window [start, end] is the difference of the
    counts at the slot boundaries nearest to its ends. ``corrupt`` may spoil a revision's windows."""

    def __init__(self, traffic: StepTraffic, rep: int, corrupt: dict[str, Corrupt] | None = None) -> None:
        self.revisions = {"canary": traffic.canary, "baseline": traffic.baseline}
        self.rep = rep
        self.bounds = traffic.bounds
        self.corrupt = corrupt or {}

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        rev: Revision = self.revisions[revision]
        a, b = round(start / SLOT_S), round(end / SLOT_S)
        counts = tuple(int(c) for c in rev.latency[self.rep, b] - rev.latency[self.rep, a])
        window = RevisionWindow(
            revision,
            start,
            end,
            int(rev.requests[self.rep, b] - rev.requests[self.rep, a]),
            int(rev.errors[self.rep, b] - rev.errors[self.rep, a]),
            LatencyHistogram(self.bounds, counts),
        )
        spoil = self.corrupt.get(revision)
        return spoil(window) if spoil else window


def _run(coro: Coroutine[Any, Any, Verdict]) -> Verdict:
    """Run a coroutine that never suspends (the array source answers at once) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: Verdict = done.value
        return result
    raise RuntimeError("the analyzer suspended")


class KeelJudge:
    """keel's analyzer with its defaults: a look every 30 s, inconclusive steps held up to 10 min."""

    name = "keel"

    def __init__(self, spec: AnalysisSpec | None = None) -> None:
        self.spec = spec or AnalysisSpec()
        self.interval = int(self.spec.interval)

    def run(
        self, traffic: StepTraffic, rep: int, step: int, corrupt: dict[str, Corrupt] | None = None
    ) -> StepResult:
        source = ArraySource(traffic, rep, corrupt)
        analyzer = build_analyzer(self.spec, source, has_baseline=True)
        t = self.interval
        while t <= HOLD_S + EXTRA_S:
            slot = t // SLOT_S
            look = Look(step, t // self.interval, 0.0, float(t), HOLD_S)
            try:
                verdict = _run(analyzer.analyze("canary", "baseline", look))
            except Exception:  # what escapes the analyzer would crash keel deploy
                return StepResult(CRASH, t, int(traffic.canary.requests[rep, slot]))
            if verdict.outcome is Outcome.FAIL:
                return StepResult(FAIL, t, int(traffic.canary.requests[rep, slot]))
            if verdict.outcome is Outcome.PASS and t >= HOLD_S:
                return StepResult(PASS, t, int(traffic.canary.requests[rep, slot]))
            t += self.interval
        return StepResult(INCONCLUSIVE, HOLD_S + EXTRA_S, int(traffic.canary.requests[rep, -1]))
