"""The binomial statistics, pinned to R's binom.test output (through SciPy's binomtest, the reference for the
raw test) and checked for their sequential guarantee."""

import math

import numpy as np
import pytest
from scipy import stats

from keel.analysis.stats.binomial import (
    clopper_pearson,
    compare_difference,
    compare_rates,
    mixture_log_lr,
    null_share,
    restricted_rates,
    upper_tail,
)


def test_binom_test_pinned_to_r_documentation_example() -> None:
    # R: binom.test(682, 682 + 243, p = 3/4)  (Conover 1971, p. 97f; the example in ?binom.test)
    #   number of successes = 682, number of trials = 925, p-value = 0.3825
    #   95 percent confidence interval: 0.7076683 0.7654066
    assert stats.binomtest(682, 925, 0.75).pvalue == pytest.approx(0.3825, abs=5e-5)
    low, high = clopper_pearson(682, 925, 0.95)
    assert low == pytest.approx(0.7076683, abs=5e-8)
    assert high == pytest.approx(0.7654066, abs=5e-8)


def test_one_sided_tail_matches_scipy_binomtest() -> None:
    for k, n, p in [(5, 20, 0.1), (0, 10, 0.3), (10, 10, 0.5), (24, 132, 0.1), (1, 1000, 0.0001)]:
        expected = stats.binomtest(k, n, p, alternative="greater").pvalue
        assert upper_tail(k, n, p) == pytest.approx(expected, rel=1e-9)


def test_one_sided_interval_matches_scipy() -> None:
    ci = stats.binomtest(3, 10).proportion_ci(confidence_level=0.9)
    assert clopper_pearson(3, 10, 0.9, "two-sided") == pytest.approx((ci.low, ci.high))
    ci = stats.binomtest(3, 10, alternative="greater").proportion_ci(confidence_level=0.9)
    assert clopper_pearson(3, 10, 0.9, "greater") == pytest.approx((ci.low, 1.0))
    assert clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(10, 10)[1] == 1.0
    assert clopper_pearson(0, 0) == (0.0, 1.0)


def test_null_share_scales_with_exposure_and_allowance() -> None:
    assert null_share(100, 900, 1.0) == pytest.approx(0.1)
    assert null_share(100, 900, 2.0) == pytest.approx(200 / 1100)


def test_mixture_likelihood_ratio_by_hand() -> None:
    p0 = 0.1
    k, n = 3, 5
    ratios = (2.0, 4.0)
    expected = 0.0
    for r in ratios:
        p1 = (p0 / (1 - p0)) * r / (1 + (p0 / (1 - p0)) * r)
        expected += 0.5 * (p1 / p0) ** k * ((1 - p1) / (1 - p0)) ** (n - k)
    assert mixture_log_lr(k, n, p0, ratios) == pytest.approx(math.log(expected))
    assert mixture_log_lr(0, 0, p0) == 0.0


def test_zero_baseline_errors_still_detected() -> None:
    # A canary with 6 errors in 300 requests while the baseline had none in 2700: clear regression.
    cmp = compare_rates(6, 300, 0, 2700)
    assert cmp.rejects(0.0025)
    assert cmp.ratio == math.inf
    assert cmp.ratio_low is not None and cmp.ratio_low > 1.0
    # No errors anywhere: nothing to say, and nothing rejected.
    none = compare_rates(0, 300, 0, 2700)
    assert not none.rejects(0.5)
    assert none.ratio is None and none.always_valid_p == 1.0


def test_allowed_increase_moves_the_null() -> None:
    strict = compare_rates(20, 1000, 100, 10000)
    lenient = compare_rates(20, 1000, 100, 10000, null_ratio=2.0)
    assert strict.log_lr > lenient.log_lr
    assert strict.fixed_p < lenient.fixed_p
    assert lenient.null_share == pytest.approx(2000 / 12000)


def test_rejects_rarely_under_the_null_however_often_we_look() -> None:
    """Ville's inequality in practice: 1000 A/A streams, looked at after every fifth event, cross 1/alpha at most
    alpha of the time (with slack for simulation noise)."""
    rng = np.random.default_rng(7)
    alpha, share, events, streams = 0.05, 0.1, 300, 1000
    crossed = 0
    for _ in range(streams):
        canary = np.cumsum(rng.random(events) < share)
        for n in range(1, events + 1, 5):
            if mixture_log_lr(int(canary[n - 1]), n, share) >= math.log(1 / alpha):
                crossed += 1
                break
    assert crossed / streams <= alpha * 1.3


def test_to_json_is_plain_data() -> None:
    data = compare_rates(6, 300, 0, 2700).to_json()
    assert data["rate_ratio"] is None  # infinite ratios are reported as null
    assert data["canary_events"] == 6
    assert 0 < data["p_value"] < 1


def _farrington_manning(k_c: int, n_c: int, k_b: int, n_b: int, delta: float) -> tuple[float, float]:
    """The closed-form restricted estimates of Farrington and Manning (1990), the formula SAS documents for its
    FM test: an independent check of the bisection."""
    p1, p2, theta = k_c / n_c, k_b / n_b, n_b / n_c
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p2 + delta * (theta + 2))
    c = delta**2 + delta * (2 * p1 + theta + 1) + p1 + theta * p2
    d = -p1 * delta * (1 + delta)
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a**2) + d / (2 * a)
    u = math.copysign(math.sqrt(b**2 / (3 * a) ** 2 - c / (3 * a)), v)
    w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3
    r1 = 2 * u * math.cos(w) - b / (3 * a)
    return r1, r1 - delta


@pytest.mark.parametrize(
    ("k_c", "n_c", "k_b", "n_b", "margin"),
    [
        (26, 1200, 108, 10800, 0.002),
        (5, 44, 0, 220, 0.002),
        (30, 300, 20, 300, 0.05),
        (0, 500, 3, 4500, 0.001),
    ],
)
def test_restricted_rates_match_farrington_manning_and_the_likelihood(
    k_c: int, n_c: int, k_b: int, n_b: int, margin: float
) -> None:
    r_c, r_b = restricted_rates(k_c, n_c, k_b, n_b, margin)
    assert r_c - r_b == pytest.approx(margin)
    assert (r_c, r_b) == pytest.approx(_farrington_manning(k_c, n_c, k_b, n_b, margin), abs=1e-9)
    grid = np.linspace(1e-9, 1 - margin - 1e-9, 200_001)
    loglik = stats.binom.logpmf(k_c, n_c, grid + margin) + stats.binom.logpmf(k_b, n_b, grid)
    assert r_b == pytest.approx(grid[np.argmax(loglik)], abs=1e-5)


def test_margin_score_statistic_by_hand() -> None:
    test = compare_difference(30, 300, 20, 300, 0.02)
    r_c, r_b = restricted_rates(30, 300, 20, 300, 0.02)
    z = (30 / 300 - 20 / 300 - 0.02) / math.sqrt(r_c * (1 - r_c) / 300 + r_b * (1 - r_b) / 300)
    assert test.z == pytest.approx(z)
    assert test.fixed_p == pytest.approx(stats.norm.sf(z))
    assert test.difference == pytest.approx(1 / 30)
    # at or below the margin there is no evidence of a rise beyond it
    below = compare_difference(25, 300, 20, 300, 0.02)
    assert below.log_lr == 0.0 and below.always_valid_p == 1.0 and below.fixed_p > 0.5
    with pytest.raises(ValueError, match="exposures"):
        compare_difference(1, 0, 1, 10, 0.01)
    with pytest.raises(ValueError, match="margin"):
        compare_difference(1, 10, 1, 10, 1.0)


def test_a_rise_exactly_at_the_margin_is_rarely_called_beyond_it_however_often_we_look() -> None:
    """1 % -> 1.2 % with a 0.2-point margin (the default ignore_below) on a 10 % canary, looked at every
    1000 requests: the sequential test crosses 1/alpha in at most alpha of the streams, and the fixed-sample
    test at the end rejects about alpha of them."""
    rng = np.random.default_rng(11)
    alpha, margin, streams, looks, per_look = 0.05, 0.002, 400, 30, 1000
    crossed = fixed = 0
    for _ in range(streams):
        n_c = rng.binomial(per_look, 0.1, looks)
        n_b = per_look - n_c
        k_c = np.cumsum(rng.binomial(n_c, 0.012))
        k_b = np.cumsum(rng.binomial(n_b, 0.010))
        n_c, n_b = np.cumsum(n_c), np.cumsum(n_b)
        tests = [
            compare_difference(int(a), int(b), int(c), int(d), margin)
            for a, b, c, d in zip(k_c, n_c, k_b, n_b)
        ]
        crossed += any(t.rejects(alpha) for t in tests)
        fixed += tests[-1].fixed_p <= alpha
    assert crossed / streams <= alpha
    assert 0.02 <= fixed / streams <= 0.09
    # the same streams with the canary at 2 %: the rise beyond the margin is found
    beyond = compare_difference(int(0.02 * 3000), 3000, int(0.01 * 27000), 27000, margin)
    assert beyond.rejects(alpha) and beyond.fixed_p < 1e-3
