"""The Mann-Whitney U test and the Hodges-Lehmann shift estimate on latency histograms (bucket counts, where
requests in one bucket are ties). On raw samples SciPy's ``mannwhitneyu`` is the reference (the tests pin both
to R's ``wilcox.test``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from keel.analysis.stats.binomial import Alternative

FloatArray = NDArray[np.float64]


def norm_sf(z: float) -> float:
    """The standard normal upper tail."""
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


def _normal_test(u: float, n_x: int, n_y: int, variance: float, correct: bool) -> RankTest:
    mean = n_x * n_y / 2.0
    if variance <= 0:
        return RankTest(u, n_x, n_y, variance, 1.0, 1.0, False)
    sd = math.sqrt(variance)
    cc = 0.5 if correct else 0.0
    p_greater = norm_sf((u - mean - cc) / sd)
    p_less = 1.0 - norm_sf((u - mean + cc) / sd)
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


def log_buckets(bounds: Sequence[float], counts: Sequence[int]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The non-empty buckets of a histogram as (log lower bound, log upper bound, count). Requests are taken
    as spread log-uniformly inside their bucket; the first bucket starts at a tenth of its upper bound and
    the +Inf bucket ends at twice the last finite bound.

    Bounds at or below 0 (OpenTelemetry's default first bound 0, linear buckets with offset 0) have no
    logarithm: they are raised to a tenth of the smallest positive bound, so a bucket "at most 0 s" holds
    the fastest requests and the next one starts there; any bucket left without width gets a decade."""
    b = np.asarray(bounds, dtype=float)
    c = np.asarray(counts, dtype=float)
    finite = np.isfinite(b)
    positive = b[finite & (b > 0)]
    floor = float(positive.min()) / 10.0 if positive.size else 1e-3
    finite_max = float(b[finite].max()) if finite.any() else 1.0
    upper = np.where(finite, np.maximum(b, floor), 2.0 * max(finite_max, floor))
    lower = np.concatenate([[upper[0] / 10.0], upper[:-1]])
    lower = np.where((lower > 0) & (lower < upper), lower, upper / 10.0)
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


def hodges_lehmann_ratio(bounds: Sequence[float], x_counts: Sequence[int], y_counts: Sequence[int]) -> float:
    """The Hodges-Lehmann slow-down factor of ``hodges_lehmann_binned`` alone (one root instead of three)."""
    x = log_buckets(bounds, x_counts)
    y = log_buckets(bounds, y_counts)
    n_x, n_y = float(x[2].sum()), float(y[2].sum())
    if n_x == 0 or n_y == 0:
        raise ValueError("both histograms need at least one request")
    return math.exp(float(_solve_shifts(x, y, np.array([n_x * n_y / 2.0]))[0]))


def shifted_superiority(
    bounds: Sequence[float], x_counts: Sequence[int], y_counts: Sequence[int], ratio: float
) -> float:
    """P(X / ratio > Y) for x and y given as histograms (requests log-uniform inside their buckets): the
    Mann-Whitney superiority of x slowed down by ``ratio`` taken back out. Under the null that x is at most
    ``ratio`` times slower than y it is at most 1/2; at ``ratio`` 1 it equals the binned test's superiority."""
    x = log_buckets(bounds, x_counts)
    y = log_buckets(bounds, y_counts)
    n_x, n_y = float(x[2].sum()), float(y[2].sum())
    if n_x == 0 or n_y == 0:
        raise ValueError("both histograms need at least one request")
    u = _u_of_shifts(x, y, np.array([math.log(ratio)]))
    return float(u[0]) / (n_x * n_y)
