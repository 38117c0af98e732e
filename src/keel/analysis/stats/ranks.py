"""The Mann-Whitney U test and the Hodges-Lehmann shift estimate, on raw samples (as R's ``wilcox.test``) and
on latency histograms (bucket counts, where requests in one bucket are ties)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import special

from keel.analysis.stats.binomial import Alternative

FloatArray = NDArray[np.float64]


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """The standard normal quantile."""
    return float(special.ndtri(p))


@dataclass(frozen=True)
class RankTest:
    """A Mann-Whitney U test of x against y. ``u`` counts the pairs with x above y (ties count half), as R's
    ``W``; ``superiority`` is ``u / (n_x n_y)``, the probability that an x exceeds a y."""

    u: float
    n_x: int
    n_y: int
    variance: float
    p_greater: float
    p_less: float
    exact: bool

    @property
    def superiority(self) -> float:
        return self.u / (self.n_x * self.n_y)

    @property
    def p_two_sided(self) -> float:
        return min(1.0, 2.0 * min(self.p_greater, self.p_less))

    def p_value(self, alternative: Alternative) -> float:
        if alternative == "greater":
            return self.p_greater
        if alternative == "less":
            return self.p_less
        return self.p_two_sided


@lru_cache(maxsize=256)
def _u_distribution(m: int, n: int) -> tuple[float, ...]:
    """P(U = u) for u = 0..mn under the null, without ties (the coefficients of the Gaussian binomial)."""
    # counts[k][u]: ways for k x's among the first j values; built by adding values one at a time.
    ways = np.zeros((m + 1, m * n + 1))
    ways[0, 0] = 1.0
    for j in range(1, m + n + 1):
        for k in range(min(j, m), 0, -1):
            # the j-th smallest value is an x: it beats the (j - k) y's below it
            shift = j - k
            if shift > n:
                continue
            ways[k, shift:] += ways[k - 1, : m * n + 1 - shift]
    total = special.comb(m + n, m, exact=False)
    return tuple((ways[m] / total).tolist())


def mann_whitney(
    x: Sequence[float], y: Sequence[float], *, exact: bool | None = None, correct: bool = True
) -> RankTest:
    """The Wilcoxon rank-sum / Mann-Whitney test with R's defaults: exact when both samples have fewer than 50
    values and there are no ties, otherwise the normal approximation with tie correction (and continuity
    correction when ``correct``)."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    n_x, n_y = len(xs), len(ys)
    if n_x == 0 or n_y == 0:
        raise ValueError("both samples need at least one value")
    pooled = np.concatenate([xs, ys])
    ranks = _average_ranks(pooled)
    u = float(ranks[:n_x].sum() - n_x * (n_x + 1) / 2.0)
    _, ties = np.unique(pooled, return_counts=True)
    has_ties = bool((ties > 1).any())
    if exact is None:
        exact = n_x < 50 and n_y < 50 and not has_ties
    big_n = n_x + n_y
    tie_term = float((ties**3 - ties).sum()) / (big_n * (big_n - 1)) if big_n > 1 else 0.0
    variance = n_x * n_y / 12.0 * ((big_n + 1) - tie_term)
    if exact and not has_ties:
        dist = np.asarray(_u_distribution(n_x, n_y))
        k = round(u)
        p_greater = float(dist[k:].sum())
        p_less = float(dist[: k + 1].sum())
        return RankTest(u, n_x, n_y, variance, min(1.0, p_greater), min(1.0, p_less), True)
    return _normal_test(u, n_x, n_y, variance, correct)


def _average_ranks(values: FloatArray) -> FloatArray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1, dtype=float)
    # average the ranks of tied runs
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        if count > 1:
            idx = order[start : start + count]
            ranks[idx] = ranks[idx].mean()
    return ranks


def _normal_test(u: float, n_x: int, n_y: int, variance: float, correct: bool) -> RankTest:
    mean = n_x * n_y / 2.0
    if variance <= 0:
        return RankTest(u, n_x, n_y, variance, 1.0, 1.0, False)
    sd = math.sqrt(variance)
    cc = 0.5 if correct else 0.0
    p_greater = _norm_sf((u - mean - cc) / sd)
    p_less = 1.0 - _norm_sf((u - mean + cc) / sd)
    return RankTest(u, n_x, n_y, variance, p_greater, p_less, False)


def mann_whitney_binned(x_counts: Sequence[int], y_counts: Sequence[int]) -> RankTest:
    """The test on two histograms over the same buckets: requests in one bucket are tied. Normal
    approximation with tie correction, no continuity correction (the samples are large)."""
    xc = np.asarray(x_counts, dtype=float)
    yc = np.asarray(y_counts, dtype=float)
    n_x, n_y = int(xc.sum()), int(yc.sum())
    if n_x == 0 or n_y == 0:
        raise ValueError("both histograms need at least one request")
    y_below = np.concatenate([[0.0], np.cumsum(yc)[:-1]])
    u = float((xc * (y_below + 0.5 * yc)).sum())
    t = xc + yc
    big_n = n_x + n_y
    tie_term = float((t**3 - t).sum()) / (big_n * (big_n - 1)) if big_n > 1 else 0.0
    variance = n_x * n_y / 12.0 * ((big_n + 1) - tie_term)
    return _normal_test(u, n_x, n_y, variance, False)


@dataclass(frozen=True)
class ShiftEstimate:
    """The Hodges-Lehmann estimate of the shift x - y with a confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float


def hodges_lehmann(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> ShiftEstimate:
    """Median of all pairwise differences x_i - y_j, with R's exact interval when both samples have fewer than
    50 values (order statistics at ``qwilcox``), else the normal-approximation order statistics."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    n_x, n_y = len(xs), len(ys)
    diffs = np.sort(np.subtract.outer(xs, ys).ravel())
    estimate = float(np.median(diffs))
    alpha = 1.0 - confidence
    if n_x < 50 and n_y < 50:
        cdf = np.cumsum(_u_distribution(n_x, n_y))
        qu = int(np.searchsorted(cdf, alpha / 2.0 - 1e-12))  # qwilcox(alpha/2): smallest u with F(u) >= p
        qu = max(qu, 1)
    else:
        z = norm_ppf(1.0 - alpha / 2.0)
        qu = max(1, math.floor(n_x * n_y / 2.0 - z * math.sqrt(n_x * n_y * (n_x + n_y + 1) / 12.0)))
    ql = n_x * n_y - qu
    return ShiftEstimate(estimate, float(diffs[qu - 1]), float(diffs[ql]), confidence)


def log_buckets(bounds: Sequence[float], counts: Sequence[int]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The non-empty buckets of a histogram as (log lower bound, log upper bound, count). Requests are taken
    as spread log-uniformly inside their bucket; the first bucket starts at a tenth of its upper bound and
    the +Inf bucket ends at twice the last finite bound."""
    b = np.asarray(bounds, dtype=float)
    c = np.asarray(counts, dtype=float)
    finite = np.isfinite(b)
    finite_max = float(b[finite].max()) if finite.any() else 1.0
    upper = np.where(finite, b, 2.0 * finite_max)
    lower = np.concatenate([[upper[0] / 10.0], upper[:-1]])
    lower = np.where(lower > 0, lower, upper / 10.0)
    keep = c > 0
    return np.log(lower[keep]), np.log(upper[keep]), c[keep]


def _ramp_integral(t: FloatArray) -> FloatArray:
    clipped = np.maximum(t, 0.0)
    result: FloatArray = 0.5 * clipped * clipped
    return result


def _u_of_shifts(
    x: tuple[FloatArray, FloatArray, FloatArray],
    y: tuple[FloatArray, FloatArray, FloatArray],
    shifts: FloatArray,
) -> FloatArray:
    """For each shift s, the expected count of pairs with X - s above Y when requests are uniform inside their
    buckets: sum over bucket pairs of n_x n_y P(X - Y > s), the difference of two uniforms (a trapezoid)."""
    a, b, cx = (v[:, None] for v in x)
    c, d, cy = (v[None, :] for v in y)
    width = (b - a) * (d - c)
    weight = (cx * cy).ravel()
    corners = [(a - d, 1.0), (b - d, -1.0), (a - c, -1.0), (b - c, 1.0)]
    s = shifts[:, None]
    cdf = np.zeros((len(shifts), weight.size))
    for corner, sign in corners:
        cdf += sign * _ramp_integral(s - corner.ravel()[None, :])
    cdf /= width.ravel()[None, :]
    result: FloatArray = ((1.0 - np.clip(cdf, 0.0, 1.0)) * weight[None, :]).sum(axis=1)
    return result


def _solve_shifts(
    x: tuple[FloatArray, FloatArray, FloatArray],
    y: tuple[FloatArray, FloatArray, FloatArray],
    targets: FloatArray,
) -> FloatArray:
    """The shifts at which U(shift) equals each target. U falls as the shift grows: three rounds of a
    vectorised grid search, then linear interpolation inside the bracketing cell."""
    lo = np.full(len(targets), float(x[0].min() - y[1].max()))
    hi = np.full(len(targets), float(x[1].max() - y[0].min()))
    rows = np.arange(len(targets))
    for _ in range(3):
        grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 17)[None, :]
        values = _u_of_shifts(x, y, grid.ravel()).reshape(grid.shape)
        idx = np.clip(np.argmax(values <= targets[:, None], axis=1), 1, grid.shape[1] - 1)
        lo, hi = grid[rows, idx - 1], grid[rows, idx]
        u_lo, u_hi = values[rows, idx - 1], values[rows, idx]
    gap = np.where(u_lo - u_hi > 0, u_lo - u_hi, 1.0)
    result: FloatArray = lo + (hi - lo) * np.clip((u_lo - targets) / gap, 0.0, 1.0)
    return result


def hodges_lehmann_binned(
    bounds: Sequence[float], x_counts: Sequence[int], y_counts: Sequence[int], confidence: float = 0.95
) -> ShiftEstimate:
    """The Hodges-Lehmann shift of log latency (x against y) from two histograms, as a ratio: the factor by
    which x is slower than y (1.2 = 20 % slower), with a normal-approximation confidence interval.

    The estimate is the shift that balances the rank statistic (U = n_x n_y / 2) when requests are spread
    log-uniformly inside their buckets, so a shift smaller than a bucket is still seen; the interval's ends
    are the shifts at which U is z standard deviations off balance."""
    x = log_buckets(bounds, x_counts)
    y = log_buckets(bounds, y_counts)
    n_x, n_y = float(x[2].sum()), float(y[2].sum())
    if n_x == 0 or n_y == 0:
        raise ValueError("both histograms need at least one request")
    sd = math.sqrt(n_x * n_y * (n_x + n_y + 1.0) / 12.0)
    z = norm_ppf(1.0 - (1.0 - confidence) / 2.0)
    half = n_x * n_y / 2.0
    estimate, low, high = _solve_shifts(x, y, np.array([half, half + z * sd, half - z * sd]))
    return ShiftEstimate(math.exp(estimate), math.exp(low), math.exp(high), confidence)


def always_valid_normal_log_lr(estimate: float, variance: float, tau: float) -> float:
    """Log of the normal-mixture likelihood ratio for an asymptotically normal estimate (Johari et al.'s mSPRT
    with mixing N(0, tau^2)). Exceeding log(1/alpha) at any look has null probability at most alpha."""
    if variance <= 0:
        return 0.0
    total = variance + tau * tau
    return 0.5 * math.log(variance / total) + (tau * tau * estimate * estimate) / (2.0 * variance * total)
