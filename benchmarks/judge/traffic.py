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


# Bucket layouts a source may deliver: the local router's (the default source), Prometheus client libraries'
# default buckets, and OpenTelemetry's default explicit boundaries (in seconds: the first bound is 0).
LAYOUTS: dict[str, tuple[float, ...]] = {
    "router": BOUNDS,
    "prometheus": (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf),
    "otel": (0.0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, math.inf),
}


@dataclass(frozen=True)
class Scenario:
    """Baseline and canary behaviour. ``regression`` is the truth the judges are scored against.

    ``from_step``: the canary behaves like the baseline before this step (a regression that appears later).
    ``cold_seconds`` / ``cold_factor``: the canary is that much slower for the first seconds of the rollout.
    ``allowed``: a change inside the configured allowances (or a cold start): not a regression, a fail is a
    false fail. ``rates``: request rates to run (default ``RATES``). ``original``: one of the scenarios of the
    first benchmark (they alone calibrate the baselines, so the calibration does not move)."""

    name: str
    base_error: float = 0.01
    canary_error: float = 0.01
    latency_factor: float = 1.0
    tail_share: float = 0.0
    tail_factor: float = 1.0
    from_step: int = 0
    hang_share: float = 0.0
    hang_seconds: float = 0.0
    cold_seconds: int = 0
    cold_factor: float = 1.0
    layout: str = "router"
    allowed: bool = False
    rates: tuple[float, ...] | None = None
    original: bool = True

    @property
    def regression(self) -> bool:
        return not self.allowed and (
            self.hang_share > 0
            or self.canary_error > self.base_error
            or self.latency_factor > 1.0
            or (self.tail_share > 0 and self.tail_factor > 1.0)
        )

    @property
    def bounds(self) -> tuple[float, ...]:
        return LAYOUTS[self.layout]


NEW = (20.0, 100.0)  # request rates of the scenarios added for issue 14
HIGH = (20.0, 100.0, 500.0)

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
    # issue 14
    Scenario(
        "tail at the 50 % step: 3 % of requests ~4.5 s",
        tail_share=0.03,
        tail_factor=45.0,
        from_step=1,
        rates=(20.0, 100.0),
        original=False,
    ),
    Scenario(
        "latency +2.5 % (half the allowance)", latency_factor=1.025, allowed=True, rates=HIGH, original=False
    ),
    Scenario("latency +5 % (the allowance)", latency_factor=1.05, allowed=True, rates=HIGH, original=False),
    Scenario(
        "cold start: 2x slower for 30 s",
        cold_seconds=30,
        cold_factor=2.0,
        allowed=True,
        rates=NEW,
        original=False,
    ),
    Scenario("A/A, OpenTelemetry buckets (first bound 0)", layout="otel", rates=NEW, original=False),
    Scenario(
        "latency +30 %, OpenTelemetry buckets", latency_factor=1.3, layout="otel", rates=NEW, original=False
    ),
    Scenario("A/A, Prometheus default buckets", layout="prometheus", rates=NEW, original=False),
    Scenario(
        "latency +30 %, Prometheus default buckets",
        latency_factor=1.3,
        layout="prometheus",
        rates=NEW,
        original=False,
    ),
    # errors' ignore_below (0.2 percentage points by default): a rise under it is inside the allowance
    Scenario(
        "errors 1 % -> 1.1 % (half of ignore_below)",
        canary_error=0.011,
        allowed=True,
        rates=HIGH,
        original=False,
    ),
    Scenario(
        "errors 1 % -> 1.2 % (at ignore_below)", canary_error=0.012, allowed=True, rates=HIGH, original=False
    ),
    # tail's ignore_below (0.1 percentage point of requests by default): 0.1 % of requests that hang ~4.5 s sit
    # above every rung of the ladder, so the share of slow requests rises by exactly the floor
    Scenario(
        "tail: 0.1 % of requests ~4.5 s (at ignore_below)",
        tail_share=0.001,
        tail_factor=45.0,
        allowed=True,
        rates=HIGH,
        original=False,
    ),
    Scenario("A/A (1 % errors), low traffic", rates=(0.5,), original=False),
    Scenario("errors 1 % -> 5 %, low traffic", canary_error=0.05, rates=(0.5,), original=False),
    Scenario("latency +50 %, low traffic", latency_factor=1.5, rates=(0.5,), original=False),
    Scenario(
        "tail at the 50 % step: 3 % of requests hang 4.5 s (one bucket)",
        hang_share=0.03,
        hang_seconds=4.5,
        from_step=1,
        rates=NEW,
        original=False,
    ),
)

RATES: tuple[float, ...] = (1.0, 20.0, 100.0)
WEIGHTS: tuple[float, ...] = (0.1, 0.5)


def bucket_probabilities(
    median: float, tail_share: float = 0.0, tail_factor: float = 1.0, bounds: tuple[float, ...] = BOUNDS
) -> np.ndarray:
    """P(latency in bucket k) for a log-normal (optionally with a share of requests ``tail_factor`` slower)."""
    upper = np.array(bounds)

    def cdf(m: float) -> np.ndarray:
        finite = np.where(np.isfinite(upper) & (upper > 0), upper, 1.0)
        c = stats.norm.cdf((np.log(finite) - math.log(m)) / SIGMA)
        return np.where(np.isfinite(upper), np.where(upper > 0, c, 0.0), 1.0)

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
    bounds: tuple[float, ...] = BOUNDS


def _revision(
    rng: np.random.Generator,
    reps: int,
    slots: int,
    rate: float,
    error: float,
    probs: np.ndarray,
    cold: tuple[int, np.ndarray] | None = None,
) -> Revision:
    requests = rng.poisson(rate * SLOT_S, size=(reps, slots))
    errors = rng.binomial(requests, error) if error > 0 else np.zeros_like(requests)
    latency = rng.multinomial(requests, probs)
    if cold is not None:  # the first slots drawn from the cold distribution
        cold_slots, cold_probs = cold
        latency[:, :cold_slots] = rng.multinomial(requests[:, :cold_slots], cold_probs)
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
    step = WEIGHTS.index(weight)
    bounds = scenario.bounds
    base_probs = bucket_probabilities(MEDIAN_S, bounds=bounds)
    active = step >= scenario.from_step
    canary_probs = (
        bucket_probabilities(
            MEDIAN_S * scenario.latency_factor, scenario.tail_share, scenario.tail_factor, bounds=bounds
        )
        if active
        else base_probs
    )
    if active and scenario.hang_share > 0:  # requests that hang until a fixed time: all in one bucket
        hang = np.zeros(len(bounds))
        hang[int(np.searchsorted(np.array(bounds), scenario.hang_seconds, side="left"))] = 1.0
        canary_probs = (1.0 - scenario.hang_share) * canary_probs + scenario.hang_share * hang
    cold = None
    if scenario.cold_seconds and step == 0:
        cold_probs = bucket_probabilities(
            MEDIAN_S * scenario.latency_factor * scenario.cold_factor, bounds=bounds
        )
        cold = (scenario.cold_seconds // SLOT_S, cold_probs)
    canary_error = scenario.canary_error if active else scenario.base_error
    return StepTraffic(
        canary=_revision(rng, reps, slots, rps * weight, canary_error, canary_probs, cold),
        baseline=_revision(rng, reps, slots, rps * (1.0 - weight), scenario.base_error, base_probs),
        bounds=bounds,
    )
