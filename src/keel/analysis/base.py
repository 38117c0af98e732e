"""The analysis contract: a window of one revision's traffic, metric sources, verdicts and analyzers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from keel.analysis.errors import AnalysisError

__all__ = [
    "AnalysisError",
    "Analyzer",
    "Judge",
    "LatencyHistogram",
    "Look",
    "MetricResult",
    "MetricSource",
    "Outcome",
    "RevisionWindow",
    "Verdict",
]


@dataclass(frozen=True)
class LatencyHistogram:
    """Latency as bucket counts: ``counts[i]`` requests took at most ``bounds[i]`` seconds (and more than
    ``bounds[i-1]``). Bounds ascend; the last bound may be ``math.inf``. Counts are per bucket, not cumulative."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.bounds) != len(self.counts):
            raise ValueError("bounds and counts differ in length")
        if any(b2 <= b1 for b1, b2 in zip(self.bounds, self.bounds[1:], strict=False)):
            raise ValueError("bounds must ascend")

    @classmethod
    def empty(cls, bounds: Sequence[float]) -> LatencyHistogram:
        return cls(tuple(bounds), (0,) * len(bounds))

    @property
    def total(self) -> int:
        return sum(self.counts)

    def quantile(self, q: float) -> float | None:
        """The q-quantile in seconds, interpolated linearly inside its bucket (as PromQL's
        ``histogram_quantile``); None when empty. A quantile in the +Inf bucket returns the last finite bound."""
        total = self.total
        if total == 0:
            return None
        rank = q * total
        cumulative = 0
        lower = 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if count and cumulative + count >= rank:
                if math.isinf(bound):
                    return lower
                return lower + (bound - lower) * ((rank - cumulative) / count)
            cumulative += count
            if not math.isinf(bound):
                lower = bound
        return lower

    def minus(self, earlier: LatencyHistogram) -> LatencyHistogram:
        """This cumulative-since-start histogram less an earlier one with the same bounds."""
        if earlier.bounds != self.bounds:
            raise ValueError("histograms have different bounds")
        return LatencyHistogram(
            self.bounds, tuple(a - b for a, b in zip(self.counts, earlier.counts, strict=True))
        )

    def plus(self, other: LatencyHistogram) -> LatencyHistogram:
        if other.bounds != self.bounds:
            raise ValueError("histograms have different bounds")
        return LatencyHistogram(
            self.bounds, tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        )


@dataclass(frozen=True)
class RevisionWindow:
    """What one revision served between ``start`` and ``end`` (epoch seconds). ``errors`` counts 5xx answers
    and requests that failed to get an answer at all."""

    revision: str
    start: float
    end: float
    requests: int
    errors: int
    latency: LatencyHistogram

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


class MetricSource(Protocol):
    """Where per-revision traffic numbers come from (the local router, Prometheus, Cloud Monitoring)."""

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        """Traffic of ``revision`` in [start, end]. No traffic is a window with 0 requests, not an error."""
        ...


class Outcome(StrEnum):
    """The verdict of an analysis. INCONCLUSIVE means not enough data yet: hold, do not pass or fail."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class MetricResult:
    """The finding on one metric: the data, the test, its statistic, and the rule that decided."""

    metric: str
    outcome: Outcome
    reason: str
    critical: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "critical": self.critical,
            "data": self.data,
        }


@dataclass(frozen=True)
class Verdict:
    """The analysis result for one look at a canary step."""

    outcome: Outcome
    metrics: tuple[MetricResult, ...]
    summary: str
    judge: str

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "summary": self.summary,
            "judge": self.judge,
            "metrics": [m.to_json() for m in self.metrics],
        }


@dataclass(frozen=True)
class Look:
    """The context of one look: which step, how many looks so far in it, and the step's time budget.

    ``step`` is the 0-based index of the canary step in the strategy (judges spend their false-fail budget by
    it) and ``look`` counts the looks within the step, including those made while the step is held longer.
    The window judged is [``step_started``, ``now``]. ``hold_seconds`` is the step's hold so far (planned hold
    plus any extra hold). A look at or after ``step_started + hold_seconds`` is the end of the hold: the
    comparison judge then runs its one fixed-sample test, but only when every metric has data, so that look
    ends the step with pass or fail; looks while a step is held for lack of data spend nothing, and holding
    longer cannot inflate false fails."""

    step: int
    look: int
    step_started: float
    now: float
    hold_seconds: float


class Analyzer(Protocol):
    """What the rollout engine calls at each look during a canary step."""

    async def analyze(self, canary: str, baseline: str | None, look: Look) -> Verdict:
        """Judge ``canary`` (against ``baseline`` when there is one) on traffic since the step started."""
        ...


class Judge(Protocol):
    """A pure decision on one look: the canary's window (and the baseline's over the same span, when there is
    one) -> a verdict with reasons. Judges never read sources and never sleep."""

    name: str

    def judge(self, canary: RevisionWindow, baseline: RevisionWindow | None, look: Look) -> Verdict: ...
