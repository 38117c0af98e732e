"""The normal-mixture likelihood ratio behind keel's sequential tests on asymptotically normal statistics
(Robbins 1970; the mSPRT of Johari et al., "Always valid inference", 2017): under the null it is a
non-negative supermartingale, so by Ville's inequality it exceeds ``1/alpha`` with probability at most
``alpha`` however many looks are taken."""

from __future__ import annotations

import math
from collections.abc import Sequence


def always_valid_normal_log_lr(estimate: float, variance: float, tau: float) -> float:
    """Log of the normal-mixture likelihood ratio for an asymptotically normal estimate (Johari et al.'s mSPRT
    with mixing N(0, tau^2)). Exceeding log(1/alpha) at any look has null probability at most alpha."""
    if variance <= 0:
        return 0.0
    total = variance + tau * tau
    return 0.5 * math.log(variance / total) + (tau * tau * estimate * estimate) / (2.0 * variance * total)


def log_mean_exp(log_terms: Sequence[float]) -> float:
    """Log of the equal-weight mixture of likelihood ratios given as logs (computed without overflow)."""
    top = max(log_terms)
    return top + math.log(sum(math.exp(t - top) for t in log_terms) / len(log_terms))
