"""Rank statistics on histograms, checked against SciPy's raw-sample test (itself pinned here to R's
wilcox.test output) and against the Hodges-Lehmann estimate on raw data."""

import math

import numpy as np
import pytest
from scipy import stats

from keel.analysis.stats.ranks import (
    hodges_lehmann_binned,
    hodges_lehmann_ratio,
    log_buckets,
    mann_whitney_binned,
    shifted_superiority,
)

# Hollander & Wolfe (1973), p. 69f: permeability constants of the human chorioamnion, the example of R's
# ?wilcox.test.
HW_X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
HW_Y = [1.15, 0.88, 0.90, 0.74, 1.21]


def test_scipy_reference_pinned_to_r() -> None:
    # R: wilcox.test(x, y, alternative = "g")  ->  W = 35, p-value = 0.1272
    exact = stats.mannwhitneyu(HW_X, HW_Y, alternative="greater", method="exact")
    assert exact.statistic == 35
    assert exact.pvalue == pytest.approx(0.1272, abs=5e-5)
    # R: wilcox.test(x, y, alternative = "greater", exact = FALSE, correct = FALSE)  ->  p-value = 0.1103
    normal = stats.mannwhitneyu(HW_X, HW_Y, alternative="greater", method="asymptotic", use_continuity=False)
    assert normal.pvalue == pytest.approx(0.1103, abs=5e-5)
    # R: wilcox.test(x, y, conf.int = TRUE)  ->  difference in location 0.305
    assert float(np.median(np.subtract.outer(HW_X, HW_Y))) == pytest.approx(0.305)


def test_binned_test_on_ties_pinned_to_r() -> None:
    # R (with the warning "cannot compute exact p-value with ties"):
    #   x <- c(1,5,9,24,56,21,3,7,21,4); y <- c(12,15,5,9,9,14,56,22,3,7,32,5)
    #   wilcox.test(x, y)  ->  W = 51.5, p-value = 0.5966
    # every distinct value is a bucket: the binned test is that tie-corrected test, without the continuity
    # correction (the samples it is made for are large)
    x = [1, 5, 9, 24, 56, 21, 3, 7, 21, 4]
    y = [12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5]
    with_correction = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
    assert (with_correction.statistic, with_correction.pvalue) == (51.5, pytest.approx(0.5966, abs=5e-5))
    values = sorted(set(x) | set(y))
    binned = mann_whitney_binned([x.count(v) for v in values], [y.count(v) for v in values])
    assert binned.u == 51.5
    reference = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=False)
    assert binned.p_two_sided == pytest.approx(reference.pvalue, rel=1e-9)


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
    # the raw Hodges-Lehmann estimate and its normal-approximation interval (order statistics of the pairwise
    # differences, as R's wilcox.test(conf.int = TRUE, exact = FALSE) takes them)
    diffs = np.sort(np.subtract.outer(np.log(slow), np.log(base)).ravel())
    n = len(slow)
    rank = math.floor(n * n / 2 - stats.norm.ppf(0.975) * math.sqrt(n * n * (2 * n + 1) / 12))
    raw = (float(np.median(diffs)), float(diffs[rank - 1]), float(diffs[n * n - rank]))
    for bounds in (fine, coarse):
        shift = hodges_lehmann_binned(bounds, _hist(slow, bounds), _hist(base, bounds))
        assert shift.estimate == pytest.approx(math.exp(raw[0]), rel=0.03)
        assert shift.low == pytest.approx(math.exp(raw[1]), rel=0.03)
        assert shift.high == pytest.approx(math.exp(raw[2]), rel=0.03)
        assert shift.low < shift.estimate < shift.high
        assert hodges_lehmann_ratio(bounds, _hist(slow, bounds), _hist(base, bounds)) == pytest.approx(
            shift.estimate, rel=1e-12
        )
        same = hodges_lehmann_binned(bounds, _hist(base, bounds), _hist(base, bounds))
        assert same.estimate == pytest.approx(1.0, abs=1e-6)
        assert same.low < 1.0 < same.high


def test_log_buckets_bound_the_open_ends() -> None:
    lo, hi, counts = log_buckets([0.1, 1.0, math.inf], [1, 0, 2])
    assert np.exp(lo) == pytest.approx([0.01, 1.0])
    assert np.exp(hi) == pytest.approx([0.1, 2.0])
    assert list(counts) == [1, 2]


def test_zero_and_negative_bounds_get_a_finite_log_range() -> None:
    # OpenTelemetry's default boundaries start at 0: the "at most 0 s" bucket sits a decade below 5 ms
    lo, hi, _ = log_buckets([0.0, 0.005, 0.01, math.inf], [1, 1, 1, 1])
    assert np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi > lo)
    assert np.exp(hi) == pytest.approx([0.0005, 0.005, 0.01, 0.02])
    assert np.exp(lo) == pytest.approx([0.00005, 0.0005, 0.005, 0.01])
    lo, hi, _ = log_buckets([-1.0, 0.0, 0.1, math.inf], [1, 1, 1, 1])
    assert np.all(np.isfinite(lo)) and np.all(hi > lo)


def test_binned_hodges_lehmann_with_a_zero_first_bound() -> None:
    rng = np.random.default_rng(4)
    otel = [0.0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, math.inf]
    base = rng.lognormal(math.log(0.1), 0.5, 3000)
    slow = base * 1.3
    shift = hodges_lehmann_binned(otel, _hist(slow, otel), _hist(base, otel))
    assert math.isfinite(shift.estimate)
    assert shift.estimate == pytest.approx(1.3, rel=0.05)


def test_shifted_superiority_is_the_test_against_the_allowance() -> None:
    rng = np.random.default_rng(8)
    fine = [*list(np.geomspace(0.001, 10, 60)), math.inf]
    base = rng.lognormal(math.log(0.1), 0.5, 4000)
    slow = rng.lognormal(math.log(0.1 * 1.1), 0.5, 4000)
    hx, hy = _hist(slow, fine), _hist(base, fine)
    assert shifted_superiority(fine, hx, hy, 1.0) == pytest.approx(mann_whitney_binned(hx, hy).superiority)
    # 10 % slower: above 1/2 against ratio 1, about 1/2 against ratio 1.1, below against 1.2
    assert shifted_superiority(fine, hx, hy, 1.0) > 0.53
    assert shifted_superiority(fine, hx, hy, 1.1) == pytest.approx(0.5, abs=0.015)
    assert shifted_superiority(fine, hx, hy, 1.2) < 0.47


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError):
        mann_whitney_binned([0, 0], [1, 2])
    with pytest.raises(ValueError):
        hodges_lehmann_binned([0.1, math.inf], [0, 0], [1, 2])
