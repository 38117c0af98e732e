"""The analysis contract: a window of one revision's traffic, metric sources, verdicts and analyzers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    "WindowFacts",
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


@dataclass(frozen=True)
class WindowFacts:
    """What a verdict shows about one revision's window: counts, error rate and latency percentiles (ms)."""

    revision: str
    requests: int
    errors: int
    error_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @classmethod
    def of(cls, window: RevisionWindow) -> WindowFacts:
        def ms(q: float) -> float | None:
            value = window.latency.quantile(q)
            return None if value is None else round(value * 1000.0, 3)

        rate = window.error_rate
        return cls(
            window.revision, window.requests, window.errors, None if rate is None else round(rate, 6),
            ms(0.5), ms(0.95), ms(0.99),
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WindowFacts:
        return cls(
            str(data.get("revision", "")), int(data.get("requests") or 0), int(data.get("errors") or 0),
            data.get("error_rate"), data.get("p50_ms"), data.get("p95_ms"), data.get("p99_ms"),
        )  # fmt: skip


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

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricResult:
        return cls(
            str(data["metric"]), Outcome(data["outcome"]), str(data.get("reason", "")),
            bool(data.get("critical", False)), dict(data.get("data") or {}),
        )  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """The analysis result for one look at a canary step. ``canary`` and ``baseline`` are the facts of the
    windows judged (set by the analyzer); ``limits`` the fixed limits the judge applied, when it has any
    (``max_error_rate``, ``max_p95_ms``)."""

    outcome: Outcome
    metrics: tuple[MetricResult, ...]
    summary: str
    judge: str
    canary: WindowFacts | None = None
    baseline: WindowFacts | None = None
    limits: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "summary": self.summary,
            "judge": self.judge,
            "metrics": [m.to_json() for m in self.metrics],
            "canary": self.canary.to_json() if self.canary else None,
            "baseline": self.baseline.to_json() if self.baseline else None,
            "limits": dict(self.limits),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        canary, baseline = data.get("canary"), data.get("baseline")
        return cls(
            Outcome(data["outcome"]),
            tuple(MetricResult.from_json(m) for m in data.get("metrics") or ()),
            str(data.get("summary", "")),
            str(data.get("judge", "")),
            WindowFacts.from_json(canary) if canary else None,
            WindowFacts.from_json(baseline) if baseline else None,
            {k: float(v) for k, v in (data.get("limits") or {}).items()},
        )


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
