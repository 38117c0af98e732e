"""Simulated canary traffic with known truth: scenarios, and per-slot counts drawn with NumPy (seeded)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from keel.platforms.local.metrics import LATENCY_BOUNDS

BOUNDS: tuple[float, ...] = LATENCY_BOUNDS  # the local router's buckets: what the default source delivers
MEDIAN_S = 0.1  # baseline latency: log-normal, median 100 ms, log-sd 0.5 (p99 about 320 ms)
SIGMA = 0.5
SLOT_S = 10  # traffic is drawn in 10-second slots; every look falls on a slot boundary
HOLD_S = 600  # the default step: hold 10 minutes ...
EXTRA_S = 600  # ... held up to 10 minutes longer while inconclusive


@dataclass(frozen=True)
class Scenario:
    """Baseline and canary behaviour. ``regression`` is the truth the judges are scored against."""

    name: str
    base_error: float = 0.01
    canary_error: float = 0.01
    latency_factor: float = 1.0
    tail_share: float = 0.0
    tail_factor: float = 1.0

    @property
    def regression(self) -> bool:
        return (
            self.canary_error > self.base_error
            or self.latency_factor > 1.0
            or (self.tail_share > 0 and self.tail_factor > 1.0)
        )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("A/A (1 % errors)"),
    Scenario("A/A (0 % errors)", base_error=0.0, canary_error=0.0),
    Scenario("A/A (0.5 % errors)", base_error=0.005, canary_error=0.005),
    Scenario("errors 0.5 % -> 1 %", base_error=0.005, canary_error=0.01),
    Scenario("errors 1 % -> 2 %", canary_error=0.02),
    Scenario("errors 1 % -> 5 %", canary_error=0.05),
    Scenario("errors 0 % -> 2 %", base_error=0.0, canary_error=0.02),
    Scenario("latency +10 %", latency_factor=1.1),
    Scenario("latency +20 %", latency_factor=1.2),
    Scenario("latency +50 %", latency_factor=1.5),
    Scenario("tail: 2 % of requests 3x slower", tail_share=0.02, tail_factor=3.0),
)

RATES: tuple[float, ...] = (1.0, 20.0, 100.0)
WEIGHTS: tuple[float, ...] = (0.1, 0.5)


def bucket_probabilities(median: float, tail_share: float = 0.0, tail_factor: float = 1.0) -> np.ndarray:
    """P(latency in bucket k) for a log-normal (optionally with a share of requests ``tail_factor`` slower)."""
    upper = np.array(BOUNDS)

    def cdf(m: float) -> np.ndarray:
        finite = np.where(np.isfinite(upper), upper, 1.0)
        c = stats.norm.cdf((np.log(finite) - math.log(m)) / SIGMA)
        return np.where(np.isfinite(upper), c, 1.0)

    mixed = (1.0 - tail_share) * cdf(median) + tail_share * cdf(median * tail_factor)
    probs = np.diff(np.concatenate([[0.0], mixed]))
    probs = np.clip(probs, 0.0, None)
    result: np.ndarray = probs / probs.sum()
    return result


def true_quantile(median: float, q: float, tail_share: float = 0.0, tail_factor: float = 1.0) -> float:
    """The exact q-quantile (seconds) of the simulated distribution, for reporting."""
    grid = np.geomspace(median / 50, median * 200, 20000)

    def cdf(m: float) -> np.ndarray:
        result: np.ndarray = stats.norm.cdf((np.log(grid) - math.log(m)) / SIGMA)
        return result

    mixed = (1.0 - tail_share) * cdf(median) + tail_share * cdf(median * tail_factor)
    return float(grid[np.searchsorted(mixed, q)])


@dataclass(frozen=True)
class Revision:
    """Cumulative traffic of one revision, per replica and slot boundary: index s covers [0, s * SLOT_S)."""

    requests: np.ndarray  # (R, S + 1)
    errors: np.ndarray  # (R, S + 1)
    latency: np.ndarray  # (R, S + 1, K)


@dataclass(frozen=True)
class StepTraffic:
    canary: Revision
    baseline: Revision


def _revision(
    rng: np.random.Generator, reps: int, slots: int, rate: float, error: float, probs: np.ndarray
) -> Revision:
    requests = rng.poisson(rate * SLOT_S, size=(reps, slots))
    errors = rng.binomial(requests, error) if error > 0 else np.zeros_like(requests)
    latency = rng.multinomial(requests, probs)
    zero = np.zeros((reps, 1), dtype=np.int64)
    return Revision(
        requests=np.concatenate([zero, np.cumsum(requests, axis=1)], axis=1),
        errors=np.concatenate([zero, np.cumsum(errors, axis=1)], axis=1),
        latency=np.concatenate(
            [np.zeros((reps, 1, len(probs)), dtype=np.int64), np.cumsum(latency, axis=1)], axis=1
        ),
    )


def simulate_step(scenario: Scenario, rps: float, weight: float, reps: int, seed: int) -> StepTraffic:
    """``reps`` independent replicas of one canary step (hold plus the longest extra hold)."""
    rng = np.random.default_rng(seed)
    slots = (HOLD_S + EXTRA_S) // SLOT_S
    base_probs = bucket_probabilities(MEDIAN_S)
    canary_probs = bucket_probabilities(
        MEDIAN_S * scenario.latency_factor, scenario.tail_share, scenario.tail_factor
    )
    return StepTraffic(
        canary=_revision(rng, reps, slots, rps * weight, scenario.canary_error, canary_probs),
        baseline=_revision(rng, reps, slots, rps * (1.0 - weight), scenario.base_error, base_probs),
    )
