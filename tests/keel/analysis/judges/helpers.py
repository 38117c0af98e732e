"""Windows with known traffic for judge tests."""

from __future__ import annotations

import math

import numpy as np

from keel.analysis.base import LatencyHistogram, Look, RevisionWindow
from keel.analysis.sources.memory import DEFAULT_BOUNDS


def window(
    revision: str,
    requests: int,
    errors: int,
    *,
    median_ms: float = 100.0,
    sigma: float = 0.5,
    seed: int = 0,
    slow_share: float = 0.0,
    slow_factor: float = 1.0,
) -> RevisionWindow:
    """A window whose latencies are log-normal around ``median_ms``; ``slow_share`` of them are slowed by
    ``slow_factor`` (a tail-only regression)."""
    rng = np.random.default_rng(seed)
    latencies = rng.lognormal(math.log(median_ms / 1000.0), sigma, requests)
    slow = rng.random(requests) < slow_share
    latencies[slow] *= slow_factor
    idx = np.minimum(np.searchsorted(DEFAULT_BOUNDS, latencies, side="left"), len(DEFAULT_BOUNDS) - 1)
    counts = np.bincount(idx, minlength=len(DEFAULT_BOUNDS))
    return RevisionWindow(
        revision,
        0.0,
        600.0,
        requests,
        errors,
        LatencyHistogram(DEFAULT_BOUNDS, tuple(int(c) for c in counts)),
    )


def look(now: float = 600.0, *, step: int = 0, hold: float = 600.0) -> Look:
    return Look(step=step, look=1, step_started=0.0, now=now, hold_seconds=hold)
