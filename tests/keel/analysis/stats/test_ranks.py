"""Rank statistics pinned to R's wilcox.test output, and the histogram versions checked against raw data."""

import math

import numpy as np
import pytest
from scipy import stats

from keel.analysis.stats.ranks import (
    always_valid_normal_log_lr,
    hodges_lehmann,
    hodges_lehmann_binned,
    log_buckets,
    mann_whitney,
    mann_whitney_binned,
)

# Hollander & Wolfe (1973), p. 69f: permeability constants of the human chorioamnion, the example of R's
# ?wilcox.test.
HW_X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
HW_Y = [1.15, 0.88, 0.90, 0.74, 1.21]


def test_exact_test_pinned_to_r() -> None:
    # R: wilcox.test(x, y, alternative = "g")  ->  W = 35, p-value = 0.1272
    test = mann_whitney(HW_X, HW_Y)
    assert test.exact
    assert test.u == 35
    assert test.p_greater == pytest.approx(0.1272, abs=5e-5)


def test_large_sample_approximation_pinned_to_r() -> None:
    # R: wilcox.test(x, y, alternative = "greater", exact = FALSE, correct = FALSE)  ->  p-value = 0.1103
    test = mann_whitney(HW_X, HW_Y, exact=False, correct=False)
    assert not test.exact
    assert test.p_greater == pytest.approx(0.1103, abs=5e-5)


def test_hodges_lehmann_estimate_pinned_to_r() -> None:
    # R: wilcox.test(x, y, conf.int = TRUE)  ->  difference in location 0.305
    shift = hodges_lehmann(HW_X, HW_Y)
    assert shift.estimate == pytest.approx(0.305)
    assert shift.low < shift.estimate < shift.high


def test_ties_use_normal_approximation_with_continuity_pinned_to_r() -> None:
    # R (with the warning "cannot compute exact p-value with ties"):
    #   x <- c(1,5,9,24,56,21,3,7,21,4); y <- c(12,15,5,9,9,14,56,22,3,7,32,5)
    #   wilcox.test(x, y)  ->  W = 51.5, p-value = 0.5966
    #   wilcox.test(x, c(1233,4356,987,39999,1111,200000))  ->  W = 0, p-value = 0.001364
    x = [1, 5, 9, 24, 56, 21, 3, 7, 21, 4]
    test = mann_whitney(x, [12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5])
    assert (test.u, test.exact) == (51.5, False)
    assert test.p_two_sided == pytest.approx(0.5966, abs=5e-5)
    test = mann_whitney(x, [1233, 4356, 987, 39999, 1111, 200000])
    assert test.u == 0
    assert test.p_two_sided == pytest.approx(0.001364, abs=5e-7)


def test_exact_interval_brackets_by_order_statistics() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(1.0, 1.0, 12), rng.normal(0.0, 1.0, 9)
    shift = hodges_lehmann(x, y, 0.95)
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    assert shift.estimate == pytest.approx(float(np.median(diffs)))
    # The interval's ends are order statistics of the differences, symmetric in rank.
    lo_rank = int(np.searchsorted(diffs, shift.low))
    hi_rank = int(np.searchsorted(diffs, shift.high))
    assert lo_rank + hi_rank == len(diffs) - 1


def test_exact_distribution_agrees_with_scipy() -> None:
    rng = np.random.default_rng(5)
    for n_x, n_y in [(3, 4), (7, 7), (12, 20)]:
        x, y = rng.normal(0.3, 1, n_x), rng.normal(0, 1, n_y)
        ours = mann_whitney(x, y)
        theirs = stats.mannwhitneyu(x, y, alternative="greater", method="exact")
        assert ours.u == theirs.statistic
        assert ours.p_greater == pytest.approx(theirs.pvalue, rel=1e-9)


def _hist(values: np.ndarray, bounds: list[float]) -> np.ndarray:
    return np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))


def test_binned_test_equals_tie_corrected_test_on_bucket_values() -> None:
    rng = np.random.default_rng(11)
    bounds = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, math.inf]
    a, b = rng.lognormal(-2.5, 0.8, 400), rng.lognormal(-2.3, 0.8, 900)
    ha, hb = _hist(a, bounds), _hist(b, bounds)
    binned = mann_whitney_binned(ha, hb)
    # the same data as bucket indices: all values in one bucket are ties
    raw = stats.mannwhitneyu(
        np.repeat(np.arange(len(bounds)), ha),
        np.repeat(np.arange(len(bounds)), hb),
        alternative="greater",
        use_continuity=False,
    )
    assert binned.u == raw.statistic
    assert binned.p_greater == pytest.approx(raw.pvalue, rel=1e-9)
    assert binned.superiority < 0.5  # a is faster


def test_binned_hodges_lehmann_recovers_a_known_slowdown() -> None:
    rng = np.random.default_rng(2)
    fine = [*list(np.geomspace(0.001, 10, 60)), math.inf]
    coarse = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.inf]  # Prometheus defaults
    base = rng.lognormal(math.log(0.1), 0.5, 1500)
    slow = rng.lognormal(math.log(0.1) + math.log(1.2), 0.5, 1500)
    raw = hodges_lehmann(np.log(slow), np.log(base))
    for bounds in (fine, coarse):
        shift = hodges_lehmann_binned(bounds, _hist(slow, bounds), _hist(base, bounds))
        assert shift.estimate == pytest.approx(math.exp(raw.estimate), rel=0.03)
        assert shift.low == pytest.approx(math.exp(raw.low), rel=0.03)
        assert shift.high == pytest.approx(math.exp(raw.high), rel=0.03)
        assert shift.low < shift.estimate < shift.high
        same = hodges_lehmann_binned(bounds, _hist(base, bounds), _hist(base, bounds))
        assert same.estimate == pytest.approx(1.0, abs=1e-6)
        assert same.low < 1.0 < same.high


def test_log_buckets_bound_the_open_ends() -> None:
    lo, hi, counts = log_buckets([0.1, 1.0, math.inf], [1, 0, 2])
    assert np.exp(lo) == pytest.approx([0.01, 1.0])
    assert np.exp(hi) == pytest.approx([0.1, 2.0])
    assert list(counts) == [1, 2]


def test_normal_mixture_log_lr() -> None:
    v, tau, theta = 0.01, 0.1, 0.2
    expected = 0.5 * math.log(v / (v + tau**2)) + tau**2 * theta**2 / (2 * v * (v + tau**2))
    assert always_valid_normal_log_lr(theta, v, tau) == pytest.approx(expected)
    assert always_valid_normal_log_lr(0.0, v, tau) < 0
    assert always_valid_normal_log_lr(0.1, 0.0, tau) == 0.0


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError):
        mann_whitney([], [1.0])
    with pytest.raises(ValueError):
        mann_whitney_binned([0, 0], [1, 2])
    with pytest.raises(ValueError):
        hodges_lehmann_binned([0.1, math.inf], [0, 0], [1, 2])
