"""The tail of a latency distribution as counts: how many requests were slower than a threshold set at a
high quantile of the pooled histogram, so a change in the tail becomes a rate comparison."""

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
