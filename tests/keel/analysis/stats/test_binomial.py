"""The binomial statistics, pinned to R's binom.test output (through SciPy's binomtest, the reference for the
raw test) and checked for their sequential guarantee."""

import math

import numpy as np
import pytest
from scipy import stats

from keel.analysis.stats.binomial import (
    clopper_pearson,
    compare_rates,
    mixture_log_lr,
    null_share,
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
