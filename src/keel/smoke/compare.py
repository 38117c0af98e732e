"""Statistics of ``--compare``: how much slower the candidate is than the baseline, with a confidence bound.

Samples come in interleaved pairs (one candidate and one baseline request back to back, in random order),
so whatever the machine was doing at that moment affects both members of a pair alike. The estimate is the
Hodges-Lehmann pseudo-median of the paired differences of log latencies (a robust "typical ratio" that one
slow outlier cannot move), with the distribution-free lower confidence bound that inverts the one-sided
Wilcoxon signed-rank test. A regression is declared only when that lower bound exceeds ``1 + margin``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from keel.errors import ConfigError

if TYPE_CHECKING:  # NumPy is the `stats` extra: imported when a comparison runs, so `keel smoke` needs none
    import numpy as np

# Above this many pairs the exact null distribution is replaced by its normal approximation.
_EXACT_MAX_PAIRS = 400


def _numpy() -> Any:
    try:
        import numpy
    except ModuleNotFoundError:
        raise ConfigError(
            "latency comparison needs NumPy, which is not installed: pip install 'keel[stats]'"
        ) from None
    return numpy


@dataclass(frozen=True)
class RatioEstimate:
    """candidate / baseline latency: point estimate and one-sided bounds at the requested confidence."""

    ratio: float
    lower: float
    upper: float
    pairs: int
    confidence: float

    def slower_than(self, margin: float) -> bool:
        """True when, with the estimate's confidence, the candidate is slower by more than ``margin``."""
        return self.lower > 1 + margin


def _signed_rank_cdf(n: int) -> np.ndarray:
    """P(T+ <= t) for t = 0..n(n+1)/2 under the null hypothesis (no difference), exactly."""
    np = _numpy()
    top = n * (n + 1) // 2
    dist = np.zeros(top + 1)
    dist[0] = 1.0
    for rank in range(1, n + 1):
        shifted = np.zeros_like(dist)
        shifted[rank:] = dist[:-rank]
        dist = 0.5 * (dist + shifted)
    return np.cumsum(dist)  # type: ignore[no-any-return]


def _order_statistic(n: int, alpha: float) -> int:
    """The 1-based index k such that the k-th smallest Walsh average is a one-sided lower confidence bound
    at level 1 - alpha (the largest k with P(T+ <= k - 1) <= alpha)."""
    if n <= _EXACT_MAX_PAIRS:
        np = _numpy()
        cdf = _signed_rank_cdf(n)
        below = np.nonzero(cdf <= alpha)[0]
        return int(below[-1]) + 1 if below.size else 1
    mean = n * (n + 1) / 4
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return max(1, math.floor(mean - NormalDist().inv_cdf(1 - alpha) * sd + 0.5))


def paired_ratio(
    candidate: Sequence[float], baseline: Sequence[float], confidence: float = 0.95
) -> RatioEstimate:
    """Estimate candidate / baseline latency from interleaved pairs (``candidate[i]`` with ``baseline[i]``)."""
    if len(candidate) != len(baseline):
        raise ValueError("candidate and baseline need the same number of samples (they are pairs)")
    n = len(candidate)
    if n < 5:
        raise ValueError("at least 5 pairs are needed for a confidence bound")
    if not 0.5 <= confidence < 1:
        raise ValueError("confidence must be within [0.5, 1)")
    np = _numpy()
    c = np.asarray(candidate, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if np.any(c <= 0) or np.any(b <= 0):
        raise ValueError("latencies must be positive")
    diffs = np.log(c) - np.log(b)
    i, j = np.triu_indices(n)
    walsh = np.sort((diffs[i] + diffs[j]) / 2)
    k = _order_statistic(n, 1 - confidence)
    return RatioEstimate(
        ratio=float(np.exp(np.median(walsh))),
        lower=float(np.exp(walsh[k - 1])),
        upper=float(np.exp(walsh[len(walsh) - k])),
        pairs=n,
        confidence=confidence,
    )
