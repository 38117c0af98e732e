"""Exact binomial tests and a sequential comparison of two event rates that is valid at zero and low counts.

The comparison conditions on the total number of events: when the canary and the baseline have the same rate,
each event falls on the canary with probability equal to its share of the requests (Lehmann, Testing
Statistical Hypotheses, ch. 4.5: the conditional binomial test for two Poisson rates). That holds with zero
errors on either side, and needs no normal approximation.

Looking again and again at a growing count must not inflate false alarms. The sequential test is a mixture
likelihood ratio (Robbins 1970; the mSPRT of Johari et al., "Always valid inference", 2017): under the null it
is a non-negative supermartingale, so by Ville's inequality it exceeds ``1/alpha`` with probability at most
``alpha`` however many looks are taken. ``1/statistic`` is an always-valid p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import special

from keel.analysis.stats.sequential import always_valid_normal_log_lr, log_mean_exp

Alternative = Literal["two-sided", "greater", "less"]

# Rate ratios (relative to the null ratio) that the mixture spreads its weight over: a doubling is the
# smallest regression worth catching quickly; the large ones let a canary that errs when the baseline does not
# fail after a handful of errors.
MIXTURE_RATIOS: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


def clopper_pearson(
    k: int, n: int, confidence: float = 0.95, alternative: Alternative = "two-sided"
) -> tuple[float, float]:
    """The exact (Clopper-Pearson) confidence interval for a proportion, as R's ``binom.test`` reports it."""
    if n == 0:
        return (0.0, 1.0)
    tail = 1.0 - confidence if alternative != "two-sided" else (1.0 - confidence) / 2.0
    low = 0.0 if k == 0 or alternative == "less" else float(special.betaincinv(k, n - k + 1, tail))
    high = 1.0 if k == n or alternative == "greater" else float(special.betaincinv(k + 1, n - k, 1.0 - tail))
    return (low, high)


def upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the one-sided ("greater") exact p-value, computed directly."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return float(special.betainc(k, n - k + 1, p))


def null_share(canary_exposure: float, baseline_exposure: float, null_ratio: float) -> float:
    """The chance that an event falls on the canary when its rate is ``null_ratio`` times the baseline's."""
    weighted = canary_exposure * null_ratio
    return weighted / (weighted + baseline_exposure)


def mixture_log_lr(k: int, n: int, p0: float, ratios: Sequence[float] = MIXTURE_RATIOS) -> float:
    """Log of the equal-weight mixture of likelihood ratios for ``k`` of ``n`` events on the canary, each
    alternative being the share the canary would take were its rate ``ratio`` times the null's."""
    if n == 0:
        return 0.0
    odds0 = p0 / (1.0 - p0)
    terms = []
    for ratio in ratios:
        p1 = odds0 * ratio / (1.0 + odds0 * ratio)
        terms.append(k * math.log(p1 / p0) + (n - k) * math.log((1.0 - p1) / (1.0 - p0)))
    return log_mean_exp(terms)


@dataclass(frozen=True)
class RateComparison:
    """Canary events vs baseline events over their exposures (requests), under the null that the canary's
    rate is at most ``null_ratio`` times the baseline's."""

    canary_events: int
    canary_exposure: int
    baseline_events: int
    baseline_exposure: int
    null_ratio: float
    null_share: float
    log_lr: float
    always_valid_p: float
    fixed_p: float
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None

    def rejects(self, alpha: float) -> bool:
        """True when the sequential test says the canary's rate is above the null (valid at any look)."""
        return self.log_lr >= math.log(1.0 / alpha)

    def to_json(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None or math.isinf(x) else round(x, 6)

        return {
            "canary_events": self.canary_events,
            "canary_requests": self.canary_exposure,
            "baseline_events": self.baseline_events,
            "baseline_requests": self.baseline_exposure,
            "null_ratio": round(self.null_ratio, 6),
            "null_share": round(self.null_share, 6),
            "likelihood_ratio": r(math.exp(min(self.log_lr, 700.0))),
            "p_value": _sig(self.always_valid_p),
            "fixed_sample_p_value": _sig(self.fixed_p),
            "rate_ratio": r(self.ratio) if self.ratio is not None and not math.isinf(self.ratio) else None,
            "rate_ratio_ci": [r(self.ratio_low), r(self.ratio_high)],
        }


def _sig(p: float) -> float:
    return float(f"{p:.4g}")


def _share_to_ratio(share: float, canary_exposure: int, baseline_exposure: int) -> float:
    if share >= 1.0:
        return math.inf
    return (share / (1.0 - share)) * (baseline_exposure / canary_exposure)


def compare_rates(
    canary_events: int,
    canary_exposure: int,
    baseline_events: int,
    baseline_exposure: int,
    *,
    null_ratio: float = 1.0,
    confidence: float = 0.95,
    ratios: Sequence[float] = MIXTURE_RATIOS,
) -> RateComparison:
    """Compare two event rates (errors per request, slow requests per request) given both exposures.

    ``ratio`` is the estimated rate ratio canary/baseline (None when neither has events, inf when only the
    canary has), with a Clopper-Pearson interval at ``confidence`` carried over from the conditional share."""
    if canary_exposure <= 0 or baseline_exposure <= 0:
        raise ValueError("both exposures must be positive")
    total = canary_events + baseline_events
    p0 = null_share(canary_exposure, baseline_exposure, null_ratio)
    log_lr = mixture_log_lr(canary_events, total, p0, ratios)
    fixed_p = upper_tail(canary_events, total, p0)
    if total == 0:
        ratio = low = high = None
    else:
        share_low, share_high = clopper_pearson(canary_events, total, confidence)
        ratio = _share_to_ratio(canary_events / total, canary_exposure, baseline_exposure)
        low = _share_to_ratio(share_low, canary_exposure, baseline_exposure)
        high = _share_to_ratio(share_high, canary_exposure, baseline_exposure)
    return RateComparison(
        canary_events=canary_events,
        canary_exposure=canary_exposure,
        baseline_events=baseline_events,
        baseline_exposure=baseline_exposure,
        null_ratio=null_ratio,
        null_share=p0,
        log_lr=log_lr,
        always_valid_p=min(1.0, math.exp(-log_lr)) if log_lr > 0 else 1.0,
        fixed_p=fixed_p,
        ratio=ratio,
        ratio_low=low,
        ratio_high=high,
    )


# Mixing scales of the margin test, in absolute differences of rates: a point beyond the margin, five points,
# a quarter of all requests (a canary failing most of its first handful). Equal weights; each costs log 3 of
# evidence against the best single scale.
MARGIN_TAUS: tuple[float, ...] = (0.01, 0.05, 0.25)


@dataclass(frozen=True)
class MarginTest:
    """Is the canary's rate more than ``margin`` above the baseline's (an absolute difference of rates)?

    Farrington and Manning's score test (Statistics in Medicine 9, 1990): the difference of the observed rates
    minus the margin, over its standard error at the rates most likely under the null boundary (canary = baseline
    + margin, the restricted maximum likelihood). Sequential through a mixture of normal likelihood ratios on
    that statistic (the mSPRT of Johari et al., over ``MARGIN_TAUS``), valid at every look, and fixed-sample
    at the end of the hold. Both are large-sample tests: unlike the exact conditional test of the ratio they
    are not exact at a handful of events, which is why the judge fails a canary only when both reject."""

    difference: float
    margin: float
    z: float
    log_lr: float
    always_valid_p: float
    fixed_p: float

    def rejects(self, alpha: float) -> bool:
        return self.log_lr >= math.log(1.0 / alpha)


def restricted_rates(k_c: float, n_c: float, k_b: float, n_b: float, margin: float) -> tuple[float, float]:
    """The maximum likelihood rates (canary, baseline) under ``canary = baseline + margin``: the profile
    log-likelihood in the baseline's rate is concave, so its derivative is bisected on [0, 1 - margin]."""

    def slope(p: float) -> float:
        q = p + margin
        total = 0.0
        if k_c:
            total += k_c / q
        if n_c - k_c:
            total -= (n_c - k_c) / (1.0 - q)
        if k_b:
            total += k_b / p
        if n_b - k_b:
            total -= (n_b - k_b) / (1.0 - p)
        return total

    lo, hi = 0.0, 1.0 - margin
    tiny = 1e-12
    if slope(lo + tiny) <= 0.0:
        return margin, 0.0
    if slope(hi - tiny) >= 0.0:
        return 1.0, hi
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if slope(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    p_b = 0.5 * (lo + hi)
    return p_b + margin, p_b


def compare_difference(
    k_c: int, n_c: int, k_b: int, n_b: int, margin: float, taus: Sequence[float] = MARGIN_TAUS
) -> MarginTest:
    """Test whether the canary's rate ``k_c / n_c`` exceeds the baseline's ``k_b / n_b`` by more than
    ``margin`` (0 <= margin < 1); see ``MarginTest``."""
    if n_c <= 0 or n_b <= 0:
        raise ValueError("both exposures must be positive")
    if not 0.0 <= margin < 1.0:
        raise ValueError("the margin must be in [0, 1)")
    difference = k_c / n_c - k_b / n_b
    r_c, r_b = restricted_rates(k_c, n_c, k_b, n_b, margin)
    variance = r_c * (1.0 - r_c) / n_c + r_b * (1.0 - r_b) / n_b
    excess = difference - margin
    if variance <= 0.0:  # margin 0 and both rates 0 or 1: no evidence either way
        return MarginTest(difference, margin, 0.0, 0.0, 1.0, 1.0)
    z = excess / math.sqrt(variance)
    log_lr = 0.0
    if excess > 0.0:
        log_lr = max(0.0, log_mean_exp([always_valid_normal_log_lr(excess, variance, tau) for tau in taus]))
    return MarginTest(
        difference=difference,
        margin=margin,
        z=z,
        log_lr=log_lr,
        always_valid_p=min(1.0, math.exp(-log_lr)),
        fixed_p=float(special.ndtr(-z)),
    )
