"""The comparison judge: the canary against the stable revision over the same window, with sequential tests
whose false-alarm rate holds however often the engine looks.

Three metrics, each with its own allowed effect size and critical flag:

- ``error-rate``: canary errors given all errors, an exact conditional binomial comparison of two rates (valid
  at zero and low counts), made sequential by a mixture likelihood ratio;
- ``latency``: Mann-Whitney U on the latency histograms (the whole distribution moving), sequential through a
  normal mixture on the U statistic, with the Hodges-Lehmann slow-down factor and its interval as effect size;
- ``latency-tail``: requests slower than the pooled p99 (or the configured quantile), compared as a rate, so
  a slower tail is seen even when the median does not move.

The false-fail budget of a rollout (``false_fail_rate``) is split over the steps (half to the first, a
quarter to the second, ...), within a step over the metrics (half to errors, a quarter to each latency
test), and within a metric between the sequential test, valid at every look, and one fixed-sample test at the
end of the hold (the most powerful test at a fixed sample size, for regressions too small to stop early).
The whole rollout stays within budget for any number of looks and any number of steps.

The end-of-hold test is made once per step without keeping state: it runs at the first look at or after the
end of the hold (``now >= step_started + hold_seconds``) at which every metric has data. Such a look always
ends with pass or fail, which ends the step (the engine advances on a pass past the hold and rolls back on a
fail); looks made while the step is held for lack of data run no end-of-hold test.
"""

from __future__ import annotations

import math
from typing import Any

from keel.analysis.base import Look, MetricResult, Outcome, RevisionWindow, Verdict
from keel.analysis.config import AnalysisSpec
from keel.analysis.judges.verdict import combine, window_facts
from keel.analysis.stats.binomial import RateComparison, compare_rates
from keel.analysis.stats.ranks import always_valid_normal_log_lr, hodges_lehmann_binned, mann_whitney_binned
from keel.analysis.stats.tail import exceedances

# Mixing scale of the latency test, on the scale of P(canary slower) - 1/2: a 20 % slow-down of a typical
# latency distribution (log-sd 0.5) moves it by about 0.1.
LATENCY_TAU = 0.1
BUDGET_SHARE = {"error-rate": 0.5, "latency": 0.25, "latency-tail": 0.25}
# Share of each metric's budget spent by the sequential test; the rest goes to the end-of-hold test. Halving
# the sequential budget raises its threshold by log 2 (about 10 % more evidence, so clear regressions still
# stop early); the end-of-hold test is what catches regressions the data of one step can barely show.
SEQUENTIAL_SHARE = 0.5


def step_alpha(false_fail_rate: float, step: int) -> float:
    """The share of the rollout's false-fail budget that step ``step`` (0-based) may spend."""
    return false_fail_rate * 0.5 ** (max(step, 0) + 1)


def _sig(p: float) -> float:
    return float(f"{p:.4g}")


def _pct(x: float) -> str:
    return f"{x:.2%}"


class CompareJudge:
    """Judges the canary against the baseline; below ``min_requests`` on either side it is inconclusive."""

    name = "compare"

    def __init__(self, spec: AnalysisSpec) -> None:
        self._spec = spec

    def judge(self, canary: RevisionWindow, baseline: RevisionWindow | None, look: Look) -> Verdict:
        spec = self._spec
        if baseline is None:
            raise ValueError("the comparison judge needs a baseline window")
        alpha = step_alpha(spec.false_fail_rate, look.step)
        at_end = look.now >= look.step_started + look.hold_seconds
        facts = {"canary": window_facts(canary), "baseline": window_facts(baseline)}
        waiting = None
        for who, window in (("canary", canary), ("baseline", baseline)):
            if window.requests < spec.min_requests:
                waiting = (
                    f"{who} served {window.requests} requests, {spec.min_requests} needed before judging"
                )
                break
        # the end-of-hold test only where every metric can be judged: that look ends the step (see above)
        final = at_end and waiting is None and _latency_usable(canary, baseline)

        def budget(metric: str) -> tuple[float, float | None]:
            share = alpha * BUDGET_SHARE[metric]
            return share * SEQUENTIAL_SHARE, share * (1.0 - SEQUENTIAL_SHARE) if final else None

        results = [
            self._errors(canary, baseline, *budget("error-rate"), facts, waiting),
            self._latency(canary, baseline, *budget("latency"), facts, waiting, at_end),
            self._tail(canary, baseline, *budget("latency-tail"), facts, waiting),
        ]
        return combine(results, self.name, noncritical_failures_to_fail=spec.noncritical_failures_to_fail)

    # -- error rate -------------------------------------------------------------------------------------------

    def _errors(
        self,
        canary: RevisionWindow,
        baseline: RevisionWindow,
        alpha: float,
        final_alpha: float | None,
        facts: dict[str, Any],
        waiting: str | None,
    ) -> MetricResult:
        rules = self._spec.errors
        null_ratio = 1.0 + rules.allowed_increase
        data: dict[str, Any] = {
            **facts,
            "test": (
                "conditional binomial on canary errors given all errors: sequential (mixture likelihood ratio) "
                "at every look, exact fixed-sample at the end of the hold"
            ),
            "alpha": _sig(alpha),
            "rule": (
                f"fail when the always-valid p-value < alpha (or, at the end of the hold, the exact p-value <= "
                f"final_alpha), the canary's error rate is credibly above {null_ratio:g} x the baseline's and "
                f"at least {_pct(rules.ignore_below)} higher"
            ),
        }
        _final_facts(data, final_alpha)
        if waiting and (canary.requests == 0 or baseline.requests == 0):
            return MetricResult("error-rate", Outcome.INCONCLUSIVE, waiting, rules.critical, data)
        cmp = compare_rates(
            canary.errors,
            canary.requests,
            baseline.errors,
            baseline.requests,
            null_ratio=null_ratio,
            confidence=1.0 - 2.0 * alpha,
        )
        data.update(cmp.to_json())
        data["p_value"] = _sig(cmp.always_valid_p)
        rate_c = canary.errors / canary.requests
        rate_b = baseline.errors / baseline.requests
        data["effect"] = {"difference": round(rate_c - rate_b, 6), "rate_ratio": data["rate_ratio"]}
        seen = f"canary {_pct(rate_c)} ({canary.errors}/{canary.requests}) vs baseline {_pct(rate_b)} "
        seen += f"({baseline.errors}/{baseline.requests}), {_ratio_text(cmp)}"
        evidence = _rate_evidence(cmp, alpha, final_alpha)
        data["decided_by"] = evidence[0] if evidence else None
        if evidence and rate_c - rate_b >= rules.ignore_below:
            reason = f"error rate up: {seen}; {evidence[1]}"
            return MetricResult("error-rate", Outcome.FAIL, reason, rules.critical, data)
        if waiting:
            # the sequential test is valid from the first request, so a clear regression fails before
            # min_requests; passing waits for enough data
            data["decided_by"] = None
            return MetricResult("error-rate", Outcome.INCONCLUSIVE, waiting, rules.critical, data)
        if evidence:
            reason = f"error rate up by less than the {_pct(rules.ignore_below)} that matters: {seen}"
        else:
            reason = f"no credible increase: {seen}; {_rate_no_evidence(cmp, alpha, final_alpha)}"
        return MetricResult("error-rate", Outcome.PASS, reason, rules.critical, data)

    # -- latency, whole distribution ----------------------------------------------------------------------------

    def _latency(
        self,
        canary: RevisionWindow,
        baseline: RevisionWindow,
        alpha: float,
        final_alpha: float | None,
        facts: dict[str, Any],
        waiting: str | None,
        at_end: bool,
    ) -> MetricResult:
        rules = self._spec.latency
        limit = 1.0 + rules.allowed_increase
        data: dict[str, Any] = {
            **facts,
            "test": (
                "Mann-Whitney U on latency histograms: sequential (normal mixture on U) at every look, "
                "fixed-sample at the end of the hold; Hodges-Lehmann ratio"
            ),
            "alpha": _sig(alpha),
            "rule": (
                f"fail when the always-valid p-value < alpha (or, at the end of the hold, the fixed-sample "
                f"p-value <= final_alpha) and the Hodges-Lehmann slow-down factor exceeds {limit:g}"
            ),
        }
        _final_facts(data, final_alpha)
        not_yet = _latency_not_comparable(waiting, canary, baseline)
        if not_yet:
            return MetricResult("latency", Outcome.INCONCLUSIVE, not_yet, rules.critical, data)
        test = mann_whitney_binned(canary.latency.counts, baseline.latency.counts)
        theta = test.superiority - 0.5
        variance = test.variance / float(test.n_x * test.n_y) ** 2
        log_lr = always_valid_normal_log_lr(theta, variance, LATENCY_TAU) if theta > 0 else 0.0
        p_value = min(1.0, math.exp(-log_lr)) if log_lr > 0 else 1.0
        sequential = log_lr >= math.log(1.0 / alpha)
        at_fixed = final_alpha is not None and test.p_greater <= final_alpha
        significant = sequential or at_fixed
        evidence = f"p = {p_value:.3g} < alpha = {alpha:.3g}"
        if at_fixed and not sequential:
            evidence = f"end of hold: fixed-sample p = {test.p_greater:.3g} <= alpha = {final_alpha:.3g}"
        data["decided_by"] = ("sequential" if sequential else "end-of-hold") if significant else None
        data.update(
            {
                "u": round(test.u, 1),
                "p_canary_slower": round(test.superiority, 6),
                "p_value": _sig(p_value),
                "fixed_sample_p_value": _sig(test.p_greater),
            }
        )
        shift = None
        if significant or at_end:
            confidence = 1.0 - 2.0 * alpha
            shift = hodges_lehmann_binned(
                canary.latency.bounds, canary.latency.counts, baseline.latency.counts, confidence
            )
            data["effect"] = {"hodges_lehmann_ratio": round(shift.estimate, 4)}
            data["interval"] = {
                "confidence": round(confidence, 6),
                "low": round(shift.low, 4),
                "high": round(shift.high, 4),
            }
        seen = _latency_text(facts)
        if significant and shift is not None and shift.estimate > limit:
            reason = (
                f"latency up x{shift.estimate:.3f} (CI {shift.low:.3f}-{shift.high:.3f}) > allowed x{limit:g}: "
                f"{seen}; {evidence}"
            )
            return MetricResult("latency", Outcome.FAIL, reason, rules.critical, data)
        if significant and shift is not None:
            reason = f"latency up x{shift.estimate:.3f}, within the allowed x{limit:g}: {seen}"
        else:
            reason = f"no credible slow-down: {seen}; p = {p_value:.3g} >= alpha = {alpha:.3g}"
            if final_alpha is not None:
                reason += f"; end of hold: fixed-sample p = {test.p_greater:.3g} > {final_alpha:.3g}"
        return MetricResult("latency", Outcome.PASS, reason, rules.critical, data)

    # -- latency tail -------------------------------------------------------------------------------------------

    def _tail(
        self,
        canary: RevisionWindow,
        baseline: RevisionWindow,
        alpha: float,
        final_alpha: float | None,
        facts: dict[str, Any],
        waiting: str | None,
    ) -> MetricResult:
        rules = self._spec.tail
        null_ratio = 1.0 + rules.allowed_increase
        q = f"p{rules.quantile * 100:g}"
        data: dict[str, Any] = {
            **facts,
            "test": (
                f"conditional binomial on requests slower than the pooled {q}: sequential at every look, exact "
                f"fixed-sample at the end of the hold"
            ),
            "alpha": _sig(alpha),
            "rule": (
                f"fail when the always-valid p-value < alpha (or, at the end of the hold, the exact p-value <= "
                f"final_alpha) and the canary's share of requests slower than the pooled {q} is credibly above "
                f"{null_ratio:g} x the baseline's and at least {_pct(rules.ignore_below)} higher"
            ),
        }
        _final_facts(data, final_alpha)
        not_yet = _latency_not_comparable(waiting, canary, baseline)
        if not_yet:
            return MetricResult("latency-tail", Outcome.INCONCLUSIVE, not_yet, rules.critical, data)
        exceed = exceedances(
            canary.latency.bounds, canary.latency.counts, baseline.latency.counts, rules.quantile
        )
        if exceed is None:
            reason = (
                f"no request slower than a bucket bound at the pooled {q}: nothing in the tail to compare"
            )
            return MetricResult("latency-tail", Outcome.PASS, reason, rules.critical, data)
        cmp = compare_rates(
            exceed.canary,
            exceed.canary_total,
            exceed.baseline,
            exceed.baseline_total,
            null_ratio=null_ratio,
            confidence=1.0 - 2.0 * alpha,
        )
        data.update(cmp.to_json())
        data["threshold_ms"] = round(exceed.threshold * 1000.0, 3)
        data["p_value"] = _sig(cmp.always_valid_p)
        share_c = exceed.canary / exceed.canary_total
        share_b = exceed.baseline / exceed.baseline_total
        data["effect"] = {"difference": round(share_c - share_b, 6), "rate_ratio": data["rate_ratio"]}
        seen = (
            f"slower than {exceed.threshold * 1000:.1f} ms: canary {_pct(share_c)} vs baseline {_pct(share_b)}, "
            f"{_ratio_text(cmp)}"
        )
        evidence = _rate_evidence(cmp, alpha, final_alpha)
        data["decided_by"] = evidence[0] if evidence else None
        if evidence and share_c - share_b >= rules.ignore_below:
            reason = f"latency tail up: {seen}; {evidence[1]}"
            return MetricResult("latency-tail", Outcome.FAIL, reason, rules.critical, data)
        if evidence:
            reason = f"latency tail up by less than the {_pct(rules.ignore_below)} that matters: {seen}"
            return MetricResult("latency-tail", Outcome.PASS, reason, rules.critical, data)
        reason = f"no credible change in the tail: {seen}; {_rate_no_evidence(cmp, alpha, final_alpha)}"
        return MetricResult("latency-tail", Outcome.PASS, reason, rules.critical, data)


def _latency_usable(canary: RevisionWindow, baseline: RevisionWindow) -> bool:
    return not _latency_not_comparable(None, canary, baseline)


def _final_facts(data: dict[str, Any], final_alpha: float | None) -> None:
    data["final_test"] = final_alpha is not None
    if final_alpha is not None:
        data["final_alpha"] = _sig(final_alpha)


def _rate_evidence(cmp: RateComparison, alpha: float, final_alpha: float | None) -> tuple[str, str] | None:
    """Which test (if any) finds the canary's rate credibly above the null, and how it says so."""
    if cmp.rejects(alpha):
        return "sequential", f"p = {cmp.always_valid_p:.3g} < alpha = {alpha:.3g}"
    if final_alpha is not None and cmp.fixed_p <= final_alpha:
        return "end-of-hold", f"end of hold: exact p = {cmp.fixed_p:.3g} <= alpha = {final_alpha:.3g}"
    return None


def _rate_no_evidence(cmp: RateComparison, alpha: float, final_alpha: float | None) -> str:
    text = f"p = {cmp.always_valid_p:.3g} >= alpha = {alpha:.3g}"
    if final_alpha is not None:
        text += f"; end of hold: exact p = {cmp.fixed_p:.3g} > {final_alpha:.3g}"
    return text


def _ratio_text(cmp: RateComparison) -> str:
    if cmp.ratio is None:
        return "no events on either side"
    low = "?" if cmp.ratio_low is None else f"{cmp.ratio_low:.2f}"
    high = "inf" if cmp.ratio_high is None or math.isinf(cmp.ratio_high) else f"{cmp.ratio_high:.2f}"
    ratio = "inf" if math.isinf(cmp.ratio) else f"{cmp.ratio:.2f}"
    return f"ratio {ratio} (CI {low}-{high})"


def _latency_text(facts: dict[str, Any]) -> str:
    c, b = facts["canary"], facts["baseline"]
    return f"p50 {c['p50_ms']} vs {b['p50_ms']} ms, p99 {c['p99_ms']} vs {b['p99_ms']} ms"


def _latency_not_comparable(waiting: str | None, canary: RevisionWindow, baseline: RevisionWindow) -> str:
    """Why the two latency histograms cannot be compared yet, or "" when they can."""
    if waiting:
        return waiting
    if canary.latency.bounds != baseline.latency.bounds:
        return "canary and baseline latency histograms have different buckets"
    if canary.latency.total == 0 or baseline.latency.total == 0:
        return "no latency samples yet"
    return ""
