"""The threshold judge: fixed limits on the canary alone (success rate, p95, p99), as Flagger does."""

from __future__ import annotations

from dataclasses import replace

from keel.analysis.base import Look, MetricResult, Outcome, RevisionWindow, Verdict
from keel.analysis.config import AnalysisSpec
from keel.analysis.judges.verdict import combine, window_facts


def _too_few(window: RevisionWindow, minimum: int) -> str | None:
    if window.requests < minimum:
        return f"canary served {window.requests} requests, {minimum} needed before judging"
    return None


class ThresholdJudge:
    """Success rate at least X, p95/p99 at most Y; below ``min_requests`` every metric is inconclusive."""

    name = "thresholds"

    def __init__(self, spec: AnalysisSpec) -> None:
        self._spec = spec

    def judge(self, canary: RevisionWindow, baseline: RevisionWindow | None, look: Look) -> Verdict:
        spec = self._spec
        limits = spec.thresholds
        facts = window_facts(canary)
        waiting = _too_few(canary, spec.min_requests)
        results = [self._success_rate(canary, facts, waiting)]
        for q, limit in ((0.95, limits.max_p95), (0.99, limits.max_p99)):
            if limit is not None:
                results.append(self._percentile(canary, facts, waiting, q, limit))
        verdict = combine(results, self.name, noncritical_failures_to_fail=spec.noncritical_failures_to_fail)
        fixed = {"max_error_rate": round(1.0 - limits.min_success_rate, 6)}
        if limits.max_p95 is not None:
            fixed["max_p95_ms"] = round(limits.max_p95 * 1000.0, 3)
        return replace(verdict, limits=fixed)

    def _success_rate(
        self, canary: RevisionWindow, facts: dict[str, object], waiting: str | None
    ) -> MetricResult:
        minimum = self._spec.thresholds.min_success_rate
        data = {"canary": facts, "test": "threshold", "min_success_rate": minimum}
        if waiting:
            return MetricResult("success-rate", Outcome.INCONCLUSIVE, waiting, True, data)
        rate = 1.0 - canary.errors / canary.requests
        data["success_rate"] = round(rate, 6)
        if rate < minimum:
            reason = f"success rate {rate:.2%} below the minimum {minimum:.2%}"
            return MetricResult("success-rate", Outcome.FAIL, reason, True, data)
        reason = f"success rate {rate:.2%} at least {minimum:.2%}"
        return MetricResult("success-rate", Outcome.PASS, reason, True, data)

    @staticmethod
    def _percentile(
        canary: RevisionWindow, facts: dict[str, object], waiting: str | None, q: float, limit: float
    ) -> MetricResult:
        name = f"latency-p{round(q * 100)}"
        data: dict[str, object] = {"canary": facts, "test": "threshold", "max_ms": round(limit * 1000.0, 3)}
        if waiting:
            return MetricResult(name, Outcome.INCONCLUSIVE, waiting, True, data)
        value = canary.latency.quantile(q)
        if value is None:
            return MetricResult(name, Outcome.INCONCLUSIVE, "no latency samples yet", True, data)
        data["value_ms"] = round(value * 1000.0, 3)
        if value > limit:
            reason = f"p{round(q * 100)} {value * 1000:.1f} ms above the limit {limit * 1000:.1f} ms"
            return MetricResult(name, Outcome.FAIL, reason, True, data)
        reason = f"p{round(q * 100)} {value * 1000:.1f} ms within the limit {limit * 1000:.1f} ms"
        return MetricResult(name, Outcome.PASS, reason, True, data)
