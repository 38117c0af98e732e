"""The tail of a latency distribution as counts: how many requests were slower than a threshold set at a
high quantile of the pooled histogram, so a change in the tail becomes a rate comparison.

One pooled quantile is not enough: a canary whose slow requests exceed ``1 - quantile`` of the pooled traffic
lifts that quantile above themselves and leaves nothing to compare. ``tail_levels`` gives a ladder of pooled
quantiles (p99, p97, p90 for 0.99); a canary can only hide from the lowest rung by slowing down a tenth of
the pooled traffic, which the whole-distribution test sees. Every rung's threshold is a function of the pooled
counts alone, so each comparison stays exact under the null, and the rungs split the tail's budget."""

from __future__ import annotations

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


def exceedances(
    bounds: Sequence[float], canary_counts: Sequence[int], baseline_counts: Sequence[int], quantile: float
) -> Exceedances | None:
    """Counts above the smallest finite bucket bound that at most ``1 - quantile`` of the pooled requests
    exceed. The threshold comes from the pooled data, which is the same whichever revision a request went to
    when both behave alike, so the conditional comparison of the counts stays exact. None when no finite
    bound qualifies or no request exceeds it (nothing to compare)."""
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
    return Exceedances(
        threshold=float(b[i]),
        canary=int(c[i + 1 :].sum()),
        canary_total=int(c.sum()),
        baseline=int(base[i + 1 :].sum()),
        baseline_total=int(base.sum()),
    )


# Rungs of the ladder: multiples of the tail share 1 - quantile, and each rung's share of the tail's budget.
TAIL_LEVELS: tuple[tuple[float, float], ...] = ((1.0, 0.5), (3.0, 0.25), (10.0, 0.25))


def tail_levels(quantile: float) -> list[tuple[float, float]]:
    """(pooled quantile, budget share) for each rung of the ladder that stays above the median."""
    return [
        (1.0 - m * (1.0 - quantile), share) for m, share in TAIL_LEVELS if 1.0 - m * (1.0 - quantile) > 0.5
    ]
