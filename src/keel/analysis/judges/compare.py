"""The comparison judge: the canary against the stable revision over the same window, with sequential tests
whose false-alarm rate holds however often the engine looks.

Three metrics, each with its own allowed effect size and critical flag:

- ``error-rate``: canary errors given all errors, an exact conditional binomial comparison of two rates (valid
  at zero and low counts), made sequential by a mixture likelihood ratio;
- ``latency``: Mann-Whitney U on the latency histograms (the whole distribution moving) against the allowance
  itself: the canary's latencies divided by ``1 + allowed_increase`` against the baseline's, so a canary inside
  the allowance is inside the null whatever the traffic; sequential through a normal mixture on the U
  statistic, with the Hodges-Lehmann slow-down factor and its interval as effect size;
- ``latency-tail``: requests slower than pooled high quantiles (a ladder: p99, p97 and p90 for the default
  0.99, see ``keel.analysis.stats.tail``), each compared as a rate, so a slower tail is seen even when the
  median does not move, and a tail heavy enough to lift the pooled p99 above itself is still compared.

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
from dataclasses import replace
from typing import Any, Protocol

from keel.analysis.base import Look, MetricResult, Outcome, RevisionWindow, Verdict
from keel.analysis.config import AnalysisSpec
from keel.analysis.judges.verdict import combine, window_facts
from keel.analysis.stats.binomial import MarginTest, RateComparison, compare_difference, compare_rates
from keel.analysis.stats.ranks import (
    hodges_lehmann_binned,
    hodges_lehmann_ratio,
    mann_whitney_binned,
    norm_sf,
    shifted_superiority,
)
from keel.analysis.stats.sequential import always_valid_normal_log_lr
from keel.analysis.stats.tail import Exceedances, exceedances, tail_levels

# Mixing scale of the latency test, on the scale of P(canary slower) - 1/2: a 20 % slow-down of a typical
# latency distribution (log-sd 0.5) moves it by about 0.1.
LATENCY_TAU = 0.1
BUDGET_SHARE = {"error-rate": 0.5, "latency": 0.25, "latency-tail": 0.25}
# Share of each metric's budget spent by the sequential test; the rest goes to the end-of-hold test. Halving
# the sequential budget raises its threshold by log 2 (about 10 % more evidence, so clear regressions still
# stop early); the end-of-hold test is what catches regressions the data of one step can barely show. The
# tail keeps three quarters for the end of the hold: its test is split over the rungs of the ladder, and tail
# regressions that matter are rarely sudden enough to need the early stop (a gross one still stops early).
SEQUENTIAL_SHARE = {"error-rate": 0.5, "latency": 0.5, "latency-tail": 0.25}


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
        low_traffic = None
        if waiting and at_end and spec.low_traffic == "judge" and min(canary.requests, baseline.requests) > 0:
            # low_traffic: judge -- at the end of the hold, judge what there is rather than wait for more
            low_traffic, waiting = waiting, None
        # the end-of-hold test only where every metric can be judged: that look ends the step (see above)
        final = at_end and waiting is None and _latency_usable(canary, baseline)

        def budget(metric: str) -> tuple[float, float | None]:
            share = alpha * BUDGET_SHARE[metric]
            seq = SEQUENTIAL_SHARE.get(metric, 0.5)
            return share * seq, share * (1.0 - seq) if final else None

        results = [
            self._errors(canary, baseline, *budget("error-rate"), facts, waiting),
            self._latency(canary, baseline, *budget("latency"), facts, waiting, at_end),
            self._tail(canary, baseline, *budget("latency-tail"), facts, waiting),
        ]
        verdict = combine(results, self.name, noncritical_failures_to_fail=spec.noncritical_failures_to_fail)
        if low_traffic:
            note = f"low traffic ({low_traffic}): judged at the end of the hold on what there is"
            verdict = replace(verdict, summary=f"{verdict.summary} ({note})")
        return verdict

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
                f"credibly more than {_pct(rules.ignore_below)} higher (a score test at the same alphas)"
            ),
        }
        _final_facts(data, final_alpha)
        if waiting and (canary.requests == 0 or baseline.requests == 0):
            return MetricResult("error-rate", Outcome.INCONCLUSIVE, waiting, rules.critical, data)
        rate = _RateTest(
            Exceedances(0.0, canary.errors, canary.requests, baseline.errors, baseline.requests),
            null_ratio,
            alpha,
            final_alpha,
            margin=rules.ignore_below,
            tail=False,
        )
        data.update(rate.facts())
        seen = f"canary {_pct(rate.share_c)} ({canary.errors}/{canary.requests}) vs baseline "
        seen += f"{_pct(rate.share_b)} ({baseline.errors}/{baseline.requests}), {_ratio_text(rate.cmp)}"
        if rate.evidence:
            reason = f"error rate up: {seen}; {rate.evidence[1]}{_margin_text(rate)}"
            return MetricResult("error-rate", Outcome.FAIL, reason, rules.critical, data)
        if waiting:
            # the sequential test is valid from the first request, so a clear regression fails before
            # min_requests; passing waits for enough data
            data["decided_by"] = None
            return MetricResult("error-rate", Outcome.INCONCLUSIVE, waiting, rules.critical, data)
        if rate.ratio_evidence:
            reason = f"error rate up, not credibly by more than the {_pct(rules.ignore_below)} that matters: {seen}"
            reason += f"{_margin_text(rate)}"
        else:
            reason = f"no credible increase: {seen}; {rate.no_evidence()}"
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
                f"Mann-Whitney U on latency histograms, canary / {limit:g} against baseline: sequential (normal "
                f"mixture on U) at every look, fixed-sample at the end of the hold; Hodges-Lehmann ratio"
            ),
            "alpha": _sig(alpha),
            "rule": (
                f"fail when the canary is credibly more than {limit:g} x slower: the always-valid p-value of "
                f"the canary's latencies / {limit:g} against the baseline's < alpha (or, at the end of the hold, "
                f"the fixed-sample p-value <= final_alpha)"
            ),
        }
        _final_facts(data, final_alpha)
        not_yet = _latency_not_comparable(waiting, canary, baseline)
        if not_yet:
            return MetricResult("latency", Outcome.INCONCLUSIVE, not_yet, rules.critical, data)
        test = mann_whitney_binned(canary.latency.counts, baseline.latency.counts)
        scale = float(test.n_x * test.n_y)
        # the null: the canary at most ``limit`` times slower. Its latencies divided by ``limit`` against the
        # baseline's (requests spread log-uniformly inside their buckets, so no ties): under the null that
        # superiority is at most 1/2, with at most the untied variance of U.
        superiority = (
            test.superiority
            if limit == 1.0
            else shifted_superiority(
                canary.latency.bounds, canary.latency.counts, baseline.latency.counts, limit
            )
        )
        theta = superiority - 0.5
        variance = (test.variance if limit == 1.0 else _untied_variance(test.n_x, test.n_y)) / scale**2
        log_lr = always_valid_normal_log_lr(theta, variance, LATENCY_TAU) if theta > 0 else 0.0
        p_value = min(1.0, math.exp(-log_lr)) if log_lr > 0 else 1.0
        fixed_p = norm_sf(theta / math.sqrt(variance)) if variance > 0 else 1.0
        sequential = log_lr >= math.log(1.0 / alpha)
        at_fixed = final_alpha is not None and fixed_p <= final_alpha
        significant = sequential or at_fixed
        evidence = f"p = {p_value:.3g} < alpha = {alpha:.3g}"
        if at_fixed and not sequential:
            evidence = f"end of hold: fixed-sample p = {fixed_p:.3g} <= alpha = {final_alpha:.3g}"
        data["decided_by"] = ("sequential" if sequential else "end-of-hold") if significant else None
        data.update(
            {
                "u": round(test.u, 1),
                "p_canary_slower": round(test.superiority, 6),
                "p_canary_slower_than_allowed": round(superiority, 6),
                "p_value": _sig(p_value),
                "fixed_sample_p_value": _sig(fixed_p),
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
        if significant and shift is not None:
            reason = (
                f"latency up x{shift.estimate:.3f} (CI {shift.low:.3f}-{shift.high:.3f}) > allowed x{limit:g}: "
                f"{seen}; {evidence}"
            )
            return MetricResult("latency", Outcome.FAIL, reason, rules.critical, data)
        if shift is None and test.superiority > 0.5:
            reason = f"within the allowed x{limit:g}, no credible slow-down beyond it: {seen}; "
        elif shift is None or shift.estimate <= 1.0:
            reason = f"no credible slow-down: {seen}; "
        elif shift.estimate <= limit:
            reason = f"latency up x{shift.estimate:.3f}, within the allowed x{limit:g}: {seen}; "
        else:
            reason = f"latency up x{shift.estimate:.3f}, not credibly beyond the allowed x{limit:g}: {seen}; "
        reason += f"p = {p_value:.3g} >= alpha = {alpha:.3g}"
        if final_alpha is not None:
            reason += f"; end of hold: fixed-sample p = {fixed_p:.3g} > {final_alpha:.3g}"
        return MetricResult("latency", Outcome.PASS, reason, rules.critical, data)

    def _tail_slack(self, canary: RevisionWindow, baseline: RevisionWindow) -> float:
        return _tail_slack_factor(canary, baseline, self._spec.latency.allowed_increase)

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
        levels = tail_levels(rules.quantile)
        names = ", ".join(_q_name(q) for q, _ in levels)
        data: dict[str, Any] = {
            **facts,
            "test": (
                f"conditional binomial on requests slower than each pooled quantile ({names}), the tail's alpha "
                f"split between them: sequential at every look, exact fixed-sample at the end of the hold"
            ),
            "alpha": _sig(alpha),
            "rule": (
                f"fail when at any of the pooled quantiles the always-valid p-value < its alpha (or, at the end "
                f"of the hold, the exact p-value <= its final_alpha) and the canary's share of requests slower than "
                f"the threshold x canary_threshold_factor (how much of the latency allowance its whole distribution "
                f"uses) is credibly above {null_ratio:g} x the baseline's share slower than the threshold and "
                f"credibly more than {_pct(rules.ignore_below)} higher"
            ),
        }
        _final_facts(data, final_alpha)
        not_yet = _latency_not_comparable(waiting, canary, baseline)
        if not_yet:
            return MetricResult("latency-tail", Outcome.INCONCLUSIVE, not_yet, rules.critical, data)
        slack = self._tail_slack(canary, baseline)
        tests: list[tuple[str, _RateTest]] = []
        seen_thresholds: set[float] = set()
        for q, share in levels:
            exceed = exceedances(
                canary.latency.bounds, canary.latency.counts, baseline.latency.counts, q, canary_factor=slack
            )
            if exceed is None or exceed.threshold in seen_thresholds:
                continue  # a rung with nothing above it, or the same bound as a higher rung: its share unspent
            seen_thresholds.add(exceed.threshold)
            final = None if final_alpha is None else final_alpha * share
            tests.append(
                (_q_name(q), _RateTest(exceed, null_ratio, alpha * share, final, margin=rules.ignore_below))
            )
        if not tests:
            reason = (
                f"no request slower than a bucket bound at the pooled {names}: nothing in the tail to compare"
            )
            return MetricResult("latency-tail", Outcome.PASS, reason, rules.critical, data)
        data["levels"] = [{"quantile": name, **rate.facts()} for name, rate in tests]
        data["canary_threshold_factor"] = round(slack, 4)
        failing = [(n, r) for n, r in tests if r.evidence]
        credible = [(n, r) for n, r in tests if r.ratio_evidence]
        name, rate = (failing or credible or tests)[0]
        data.update(rate.facts())
        seen = (
            f"slower than {rate.exceed.threshold * 1000:.1f} ms (pooled {name}): canary {_pct(rate.share_c)} vs "
            f"baseline {_pct(rate.share_b)}, {_ratio_text(rate.cmp)}"
        )
        if failing:
            assert rate.evidence is not None
            reason = f"latency tail up: {seen}; {rate.evidence[1]}{_margin_text(rate)}"
            return MetricResult("latency-tail", Outcome.FAIL, reason, rules.critical, data)
        if credible:
            reason = f"latency tail up, not credibly by more than the {_pct(rules.ignore_below)} that matters: {seen}"
            reason += _margin_text(rate)
            return MetricResult("latency-tail", Outcome.PASS, reason, rules.critical, data)
        reason = f"no credible change in the tail: {seen}; {rate.no_evidence()}"
        return MetricResult("latency-tail", Outcome.PASS, reason, rules.critical, data)


def _tail_slack_factor(canary: RevisionWindow, baseline: RevisionWindow, allowed: float) -> float:
    """How much slower the canary's tail may be because its whole distribution is slower within the latency
    allowance: the Hodges-Lehmann factor, between 1 and ``1 + allowed``. A canary uniformly slower by no more
    than the allowance then has about as many requests above threshold x factor as the baseline has above the
    threshold; a canary whose bulk did not move (a tail regression) keeps a factor near 1, so its slow
    requests are compared almost at the threshold itself."""
    if allowed <= 0:
        return 1.0
    if mann_whitney_binned(canary.latency.counts, baseline.latency.counts).superiority <= 0.5:
        return 1.0  # not slower at all: the factor is at most 1 (and the root need not be solved)
    ratio = hodges_lehmann_ratio(canary.latency.bounds, canary.latency.counts, baseline.latency.counts)
    return min(1.0 + allowed, max(1.0, ratio))


class _RateTest:
    """One rate comparison (errors per request, slow requests per request) at the sequential and end-of-hold
    budgets: the statistics, the evidence (which test rejects, and how it says so) and the facts reported."""

    def __init__(
        self,
        exceed: Exceedances,
        null_ratio: float,
        alpha: float,
        final_alpha: float | None,
        *,
        margin: float,
        tail: bool = True,
    ) -> None:
        self.exceed = exceed
        self.tail = tail
        self.alpha = alpha
        self.final_alpha = final_alpha
        self.margin = margin
        self.cmp = compare_rates(
            exceed.canary,
            exceed.canary_total,
            exceed.baseline,
            exceed.baseline_total,
            null_ratio=null_ratio,
            confidence=1.0 - 2.0 * alpha,
        )
        self.share_c = exceed.canary / exceed.canary_total
        self.share_b = exceed.baseline / exceed.baseline_total
        self.difference = self.share_c - self.share_b
        self.ratio_evidence = _evidence(self.cmp, alpha, final_alpha, "exact ")
        # ``ignore_below`` is a second null: a canary whose rate is at most ``margin`` above the baseline's is
        # inside what the user allowed, however credible the ratio. The canary fails only when both tests reject
        # (an intersection-union test, Berger 1982: each at the metric's alpha, the pair is too, with no split)
        self.margin_test: MarginTest | None = None
        self.margin_evidence: tuple[str, str] | None = None
        if margin > 0.0:
            self.margin_test = compare_difference(
                exceed.canary, exceed.canary_total, exceed.baseline, exceed.baseline_total, margin
            )
            self.margin_evidence = _evidence(self.margin_test, alpha, final_alpha)
        self.margin_met = margin <= 0.0 or self.margin_evidence is not None
        self.evidence = self.ratio_evidence if self.margin_met else None

    def facts(self) -> dict[str, Any]:
        data: dict[str, Any] = self.cmp.to_json()
        if self.tail:
            data["threshold_ms"] = round(self.exceed.threshold * 1000.0, 3)
        data["p_value"] = _sig(self.cmp.always_valid_p)
        data["effect"] = {"difference": round(self.difference, 6), "rate_ratio": data["rate_ratio"]}
        data["decided_by"] = self.evidence[0] if self.evidence else None
        if self.margin_test is not None:
            test = self.margin_test
            data["margin"] = {
                "ignore_below": self.margin,
                "test": "Farrington-Manning score test of canary - baseline > ignore_below",
                "z": round(test.z, 4),
                "p_value": _sig(test.always_valid_p),
                "fixed_sample_p_value": _sig(test.fixed_p),
                "decided_by": self.margin_evidence[0] if self.margin_evidence else None,
            }
        return data

    def no_evidence(self) -> str:
        return _no_evidence(self.cmp, self.alpha, self.final_alpha, "exact ")


def _margin_text(rate: _RateTest) -> str:
    """How the rise compares with ``ignore_below``: credibly beyond it (how it was shown), or not."""
    if rate.margin_test is None:
        return ""
    if rate.margin_evidence is not None:
        return f"; more than {_pct(rate.margin)} higher: {rate.margin_evidence[1]}"
    return f"; beyond {_pct(rate.margin)}: {_no_evidence(rate.margin_test, rate.alpha, rate.final_alpha)}"


def _q_name(q: float) -> str:
    return f"p{round(q * 100, 2):g}"


def _untied_variance(n_x: int, n_y: int) -> float:
    return n_x * n_y * (n_x + n_y + 1) / 12.0


def _latency_usable(canary: RevisionWindow, baseline: RevisionWindow) -> bool:
    return not _latency_not_comparable(None, canary, baseline)


def _final_facts(data: dict[str, Any], final_alpha: float | None) -> None:
    data["final_test"] = final_alpha is not None
    if final_alpha is not None:
        data["final_alpha"] = _sig(final_alpha)


class _TwoStage(Protocol):
    """A test with an always-valid p-value for every look and a fixed-sample one for the end of the hold."""

    @property
    def always_valid_p(self) -> float: ...

    @property
    def fixed_p(self) -> float: ...

    def rejects(self, alpha: float) -> bool: ...


def _evidence(
    test: _TwoStage, alpha: float, final_alpha: float | None, kind: str = ""
) -> tuple[str, str] | None:
    """Which stage of ``test`` (if any) rejects its null, and how the reason says so."""
    if test.rejects(alpha):
        return "sequential", f"p = {test.always_valid_p:.3g} < alpha = {alpha:.3g}"
    if final_alpha is not None and test.fixed_p <= final_alpha:
        return "end-of-hold", f"end of hold: {kind}p = {test.fixed_p:.3g} <= alpha = {final_alpha:.3g}"
    return None


def _no_evidence(test: _TwoStage, alpha: float, final_alpha: float | None, kind: str = "") -> str:
    text = f"p = {test.always_valid_p:.3g} >= alpha = {alpha:.3g}"
    if final_alpha is not None:
        text += f"; end of hold: {kind}p = {test.fixed_p:.3g} > {final_alpha:.3g}"
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
