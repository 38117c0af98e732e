"""The paired Hodges-Lehmann ratio and its Wilcoxon lower bound, on synthetic latencies."""

from __future__ import annotations

import numpy as np
import pytest

from keel.smoke.compare import _order_statistic, _signed_rank_cdf, paired_ratio


def pairs(slowdown: float, n: int, seed: int, noise: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    drift = np.exp(np.linspace(0, 1.0, n))  # the machine gets slower during the run: pairs cancel it
    baseline = 0.010 * drift * np.exp(rng.normal(0, noise, n))
    candidate = 0.010 * slowdown * drift * np.exp(rng.normal(0, noise, n))
    return candidate, baseline


def test_signed_rank_distribution_matches_known_critical_values() -> None:
    # Tables: n=10, one-sided 5 %: T <= 10 (P = 0.042); n=20: T <= 60 (P = 0.0487).
    cdf10 = _signed_rank_cdf(10)
    assert cdf10[10] == pytest.approx(0.0420, abs=1e-4) and cdf10[11] > 0.05
    assert _order_statistic(20, 0.05) == 61
    assert _signed_rank_cdf(20)[-1] == pytest.approx(1.0)


def test_normal_approximation_continues_the_exact_values() -> None:
    exact = _order_statistic(400, 0.05)
    approx = _order_statistic(401, 0.05)
    # One more pair adds about n/2 Walsh averages below the bound.
    assert 0 < approx - exact < 401


@pytest.mark.parametrize("seed", range(5))
def test_a_30_percent_slower_candidate_is_flagged(seed: int) -> None:
    candidate, baseline = pairs(1.30, 40, seed)
    estimate = paired_ratio(candidate, baseline, 0.95)
    assert estimate.ratio == pytest.approx(1.30, rel=0.08)
    assert estimate.lower <= estimate.ratio <= estimate.upper
    assert estimate.slower_than(0.10)


@pytest.mark.parametrize("seed", range(5))
def test_an_identical_candidate_passes(seed: int) -> None:
    candidate, baseline = pairs(1.0, 40, seed)
    estimate = paired_ratio(candidate, baseline, 0.95)
    assert estimate.ratio == pytest.approx(1.0, rel=0.08)
    assert not estimate.slower_than(0.10)


def test_a_small_slowdown_within_the_margin_passes() -> None:
    candidate, baseline = pairs(1.05, 60, 3, noise=0.05)
    assert not paired_ratio(candidate, baseline, 0.95).slower_than(0.10)


def test_the_bound_holds_its_confidence() -> None:
    # Over many runs with a true ratio of 1.2, the 95 % lower bound exceeds 1.2 about 5 % of the time.
    above = sum(paired_ratio(*pairs(1.2, 30, seed, noise=0.3), 0.95).lower > 1.2 for seed in range(400))
    assert above / 400 < 0.09


def test_one_outlier_does_not_move_the_estimate() -> None:
    candidate, baseline = pairs(1.0, 40, 1, noise=0.05)
    candidate[5] *= 50
    assert paired_ratio(candidate, baseline).ratio == pytest.approx(1.0, rel=0.05)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="same number"):
        paired_ratio([1.0] * 10, [1.0] * 9)
    with pytest.raises(ValueError, match="at least 5"):
        paired_ratio([1.0] * 4, [1.0] * 4)
    with pytest.raises(ValueError, match="positive"):
        paired_ratio([0.0] * 10, [1.0] * 10)
    with pytest.raises(ValueError, match="confidence"):
        paired_ratio([1.0] * 10, [1.0] * 10, confidence=1.0)
