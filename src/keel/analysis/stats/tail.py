"""The tail of a latency distribution as counts: how many requests were slower than a threshold set at a
high quantile of the pooled histogram, so a change in the tail becomes a rate comparison.

One pooled quantile is not enough: a canary whose slow requests exceed ``1 - quantile`` of the pooled traffic
lifts that quantile above themselves and leaves nothing to compare. ``tail_levels`` gives a ladder of pooled
quantiles (p99, p97, p90 for 0.99); a canary can only hide from the lowest rung by slowing down a tenth of
the pooled traffic, which the whole-distribution test sees. Every rung's threshold is a function of the pooled
counts alone, so each comparison stays exact under the null, and the rungs split the tail's budget."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Exceedances:
    """Requests slower than ``threshold`` seconds, for the canary and the baseline."""

    threshold: float
    canary: int
    canary_total: int
    baseline: int
    baseline_total: int


def count_above(bounds: Sequence[float], counts: Sequence[int], x: float) -> float:
    """Requests slower than ``x`` seconds. Between two bucket bounds the count above is interpolated
    geometrically in log latency (a tail that decays exponentially in log latency, as log-normal and
    power-law tails locally do; it undercounts a log-normal tail slightly, so the comparison errs towards
    passing); linearly where a count is zero or a bound is not positive; the +Inf bucket ends at twice the
    last finite bound."""
    above = [float(v) for v in np.sum(counts) - np.cumsum(counts)]  # requests slower than bounds[i]
    idx = next((i for i, v in enumerate(bounds) if v >= x), len(bounds) - 1)
    if idx == 0:
        return above[0]
    lower, upper = float(bounds[idx - 1]), float(bounds[idx])
    if math.isinf(upper):
        upper = 2.0 * lower
    a_low, a_high = above[idx - 1], above[idx]
    if x >= upper:
        return a_high
    if lower <= 0:
        return a_low + (a_high - a_low) * (x - lower) / (upper - lower)
    u = (math.log(x) - math.log(lower)) / (math.log(upper) - math.log(lower))
    if a_high > 0 and a_low > 0:
        return float(a_low ** (1.0 - u) * a_high**u)
    return a_low + (a_high - a_low) * u


def exceedances(
    bounds: Sequence[float],
    canary_counts: Sequence[int],
    baseline_counts: Sequence[int],
    quantile: float,
    *,
    canary_factor: float = 1.0,
) -> Exceedances | None:
    """Counts above the smallest finite bucket bound that at most ``1 - quantile`` of the pooled requests
    exceed. The threshold comes from the pooled data, which is the same whichever revision a request went to
    when both behave alike, so the conditional comparison of the counts stays exact. None when no finite
    bound qualifies or no request exceeds it (nothing to compare).

    ``canary_factor`` > 1 counts the canary's requests slower than ``factor`` times the threshold instead (a
    canary uniformly that much slower then has no more of them than the baseline): the requests of the bucket
    holding that point are apportioned log-uniformly and the count rounded down."""
    b = np.asarray(bounds, dtype=float)
    c = np.asarray(canary_counts, dtype=np.int64)
    base = np.asarray(baseline_counts, dtype=np.int64)
    pooled = c + base
    total = int(pooled.sum())
    if total == 0:
        return None
    above = total - np.cumsum(pooled)  # requests slower than bounds[i]
    ok = np.isfinite(b) & (above <= (1.0 - quantile) * total)
    if not ok.any():
        return None
    i = int(np.argmax(ok))
    if above[i] == 0:
        return None
    canary = int(c[i + 1 :].sum())
    if canary_factor != 1.0:
        canary = math.floor(count_above(bounds, canary_counts, float(b[i]) * canary_factor) + 1e-9)
    return Exceedances(
        threshold=float(b[i]),
        canary=canary,
        canary_total=int(c.sum()),
        baseline=int(base[i + 1 :].sum()),
        baseline_total=int(base.sum()),
    )


# Rungs of the ladder: multiples of the tail share 1 - quantile, and each rung's share of the tail's budget.
TAIL_LEVELS: tuple[tuple[float, float], ...] = ((1.0, 0.6), (3.0, 0.2), (10.0, 0.2))


def tail_levels(quantile: float) -> list[tuple[float, float]]:
    """(pooled quantile, budget share) for each rung of the ladder that stays above the median."""
    return [
        (1.0 - m * (1.0 - quantile), share) for m, share in TAIL_LEVELS if 1.0 - m * (1.0 - quantile) > 0.5
    ]
