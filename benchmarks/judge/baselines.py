"""Flagger-style and Kayenta-style baselines, implemented from their documented algorithms, as data plus
configurations: a step's traffic is reduced once to what the baseline looks at (per-minute checks, per-look
rank counts), and any configuration is then decided on those arrays, so calibrating over many
configurations costs little.

Flagger (docs: fluxcd.io/flagger/usage/metrics; the documented example values): every ``interval`` (1 min)
each metric is queried over the last minute and checked against its thresholdRange: request-success-rate min
99 %, request-duration (p99, histogram_quantile) max 500 ms. A failed or empty ("no values found") check
increments failedChecks; at ``threshold`` (5) failed checks over the rollout the canary is rolled back. No
baseline comparison; there is no inconclusive outcome.

Kayenta (kayenta-judge ``NetflixACAJudge``, ``MannWhitneyClassifier``, docs/canary-config.md): the data are
per-interval samples (1 min) of each metric since the start; NaN samples are removed (an error series that
does not exist yet, i.e. a revision that has had no error, yields NaN, as a Prometheus query on a lazily
created counter does); no data -> Nodata (not a failure). A metric is High when the two-sided ``confidence``
(98 %) Mann-Whitney (Hodges-Lehmann) interval of canary - baseline lies above 0 and the effect size
meanRatio = mean(canary) / mean(baseline) is at least ``allowed_increase`` (1.0). Metrics: error rate and
mean latency; either High puts the score (50) under the marginal threshold (75) and the canary fails. Judged
every minute once ``WARMUP`` minutes of samples exist (with fewer samples R's exact interval degenerates to
the range of the differences, and a single sample per side would fail half of all identical canaries).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special
from traffic import HOLD_S, SLOT_S, Revision, StepTraffic

from keel.analysis.base import LatencyHistogram

MINUTE = 60 // SLOT_S  # slots per minute
CHECKS = HOLD_S // 60  # one-minute checks (Flagger) or samples (Kayenta) per step
WARMUP = 5  # Kayenta: first judged at the fifth minute
LOOK_MINUTES = tuple(range(WARMUP, CHECKS + 1))


@dataclass(frozen=True)
class RolloutArrays:
    """Per replica of a whole rollout: failed or not, when (seconds from the rollout's start), the canary's
    requests in the deciding step by then, and which step decided."""

    failed: np.ndarray
    seconds: np.ndarray
    requests: np.ndarray
    step: np.ndarray


# -- Flagger ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlaggerChecks:
    """What the Flagger checks of one step see, per replica (rows) and one-minute check (columns)."""

    requests: np.ndarray  # canary requests in the minute before the check
    errors: np.ndarray
    p99: np.ndarray  # seconds (histogram_quantile over the minute); inf when there was no request
    seen: np.ndarray  # canary requests since the step started


def flagger_checks(traffic: StepTraffic) -> FlaggerChecks:
    rev = traffic.canary
    ends = np.arange(1, CHECKS + 1) * MINUTE
    starts = ends - MINUTE
    requests = rev.requests[:, ends] - rev.requests[:, starts]
    errors = rev.errors[:, ends] - rev.errors[:, starts]
    hist = rev.latency[:, ends] - rev.latency[:, starts]
    p99 = np.full(requests.shape, math.inf)
    for r, c in zip(*np.nonzero(requests), strict=True):
        value = LatencyHistogram(traffic.bounds, tuple(int(x) for x in hist[r, c])).quantile(0.99)
        p99[r, c] = math.inf if value is None else value
    return FlaggerChecks(requests, errors, p99, rev.requests[:, ends])


@dataclass(frozen=True)
class FlaggerConfig:
    min_success: float = 0.99
    threshold: int = 5
    max_p99_s: float = 0.5

    def label(self) -> str:
        return f"success >= {100 * self.min_success:g} %, p99 <= {1000 * self.max_p99_s:g} ms, {self.threshold} failed checks"

    def failed(self, checks: FlaggerChecks) -> np.ndarray:
        """Which checks fail: empty ("no values found"), success rate below the minimum, or p99 above the max."""
        n = checks.requests
        success = (n - checks.errors) / np.maximum(n, 1)
        result: np.ndarray = (n == 0) | (success < self.min_success) | (checks.p99 > self.max_p99_s)
        return result

    def step_fails(self, checks: FlaggerChecks) -> np.ndarray:
        """Replicas whose checks in this one step alone reach the threshold."""
        result: np.ndarray = self.failed(checks).sum(axis=1) >= self.threshold
        return result

    def rollout(self, steps: list[FlaggerChecks]) -> RolloutArrays:
        """Failed checks accumulate over the whole rollout; every step lasts its hold (no inconclusive)."""
        failed = np.concatenate([self.failed(c) for c in steps], axis=1)
        seen = np.concatenate([c.seen for c in steps], axis=1)
        hit = np.cumsum(failed, axis=1) >= self.threshold
        any_hit = hit.any(axis=1)
        index = np.where(any_hit, hit.argmax(axis=1), hit.shape[1] - 1)
        seconds = np.where(any_hit, (index + 1) * 60.0, len(steps) * HOLD_S)
        requests = seen[np.arange(len(index)), index]
        return RolloutArrays(any_hit, seconds, requests, index // CHECKS)


# -- Kayenta ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _midpoints(bounds: tuple[float, ...]) -> np.ndarray:
    upper = np.array([b if math.isfinite(b) else 2 * bounds[-2] for b in bounds])
    lower = np.concatenate([[0.0], upper[:-1]])
    result: np.ndarray = (upper + lower) / 2.0
    return result


@dataclass(frozen=True)
class KayentaLooks:
    """What the Kayenta judge of one step sees at each look (minutes WARMUP..10), per replica, look and metric
    (0 = error rate, 1 = mean latency): the Mann-Whitney count of sample pairs with canary <= baseline, the
    sample sizes, meanRatio, and whether the samples can be classified at all (data on both sides, not all
    equal)."""

    below: np.ndarray  # (R, L, 2)
    n_x: np.ndarray
    n_y: np.ndarray
    ratio: np.ndarray
    usable: np.ndarray
    seen: np.ndarray  # (R, L) canary requests since the step started


def _minute_samples(
    rev: Revision, bounds: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per replica and minute: requests, error rate, whether the error series exists, mean latency."""
    ends = np.arange(1, CHECKS + 1) * MINUTE
    starts = ends - MINUTE
    n = rev.requests[:, ends] - rev.requests[:, starts]
    e = rev.errors[:, ends] - rev.errors[:, starts]
    hist = rev.latency[:, ends] - rev.latency[:, starts]
    safe = np.maximum(n, 1)
    latency = (hist * _midpoints(bounds)).sum(axis=2) / safe
    return n, e / safe, rev.errors[:, ends] > 0, latency


def _pair(canary: np.ndarray, baseline: np.ndarray) -> tuple[int, float, bool]:
    if len(canary) == 0 or len(baseline) == 0:
        return 0, math.nan, False  # Nodata
    if sorted(canary) == sorted(baseline) or len(set(canary) | set(baseline)) == 1:
        return 0, math.nan, False
    below = int((np.subtract.outer(canary, baseline) <= 0).sum())
    mean_b = float(np.mean(baseline))
    ratio = float(np.mean(canary)) / mean_b if mean_b else math.inf
    return below, ratio, True


def kayenta_looks(traffic: StepTraffic) -> KayentaLooks:
    cn, ce, cx, cl = _minute_samples(traffic.canary, traffic.bounds)
    bn, be, bx, bl = _minute_samples(traffic.baseline, traffic.bounds)
    reps, looks = cn.shape[0], len(LOOK_MINUTES)
    shape = (reps, looks, 2)
    below, n_x, n_y = (
        np.zeros(shape, dtype=np.int64),
        np.zeros(shape, dtype=np.int64),
        np.zeros(shape, dtype=np.int64),
    )
    ratio, usable = np.full(shape, math.nan), np.zeros(shape, dtype=bool)
    for r in range(reps):
        for j, minutes in enumerate(LOOK_MINUTES):
            c_ok, b_ok = cn[r, :minutes] > 0, bn[r, :minutes] > 0
            samples = (
                (ce[r, :minutes][c_ok & cx[r, :minutes]], be[r, :minutes][b_ok & bx[r, :minutes]]),
                (cl[r, :minutes][c_ok], bl[r, :minutes][b_ok]),
            )
            for m, (x, y) in enumerate(samples):
                below[r, j, m], ratio[r, j, m], usable[r, j, m] = _pair(x, y)
                n_x[r, j, m], n_y[r, j, m] = len(x), len(y)
    ends = np.array(LOOK_MINUTES) * MINUTE
    return KayentaLooks(below, n_x, n_y, ratio, usable, traffic.canary.requests[:, ends])


@lru_cache(maxsize=256)
def _u_distribution(m: int, n: int) -> tuple[float, ...]:
    """R's ``dwilcox``: P(U = u) for u = 0..mn under the null, without ties (the coefficients of the Gaussian binomial)."""
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


@lru_cache(maxsize=4096)
def _lower_order(n_x: int, n_y: int, confidence: float) -> int:
    """The order statistic of the pairwise differences that is R's exact lower interval bound (qwilcox)."""
    if n_x == 0 or n_y == 0:
        return 1
    cdf = np.cumsum(_u_distribution(n_x, n_y))
    return max(int(np.searchsorted(cdf, (1.0 - confidence) / 2.0 - 1e-12)), 1)


@lru_cache(maxsize=64)
def _order_table(confidence: float) -> np.ndarray:
    size = CHECKS + 1
    return np.array([[_lower_order(a, b, confidence) for b in range(size)] for a in range(size)])


@dataclass(frozen=True)
class KayentaConfig:
    confidence: float = 0.98
    allowed_increase: float = 1.0

    def label(self) -> str:
        return f"confidence {100 * self.confidence:g} %, meanRatio >= {self.allowed_increase:g}"

    def high(self, looks: KayentaLooks) -> np.ndarray:
        """(R, L): some metric is High at that look. The interval's lower bound, the ``qu``-th smallest
        difference, is above 0 exactly when fewer than ``qu`` differences are <= 0."""
        order = _order_table(self.confidence)[looks.n_x, looks.n_y]
        high = looks.usable & (looks.below < order) & (looks.ratio >= self.allowed_increase)
        result: np.ndarray = high.any(axis=2)
        return result

    def step_fails(self, looks: KayentaLooks) -> np.ndarray:
        result: np.ndarray = self.high(looks).any(axis=1)
        return result

    def rollout(self, steps: list[KayentaLooks]) -> RolloutArrays:
        reps = steps[0].seen.shape[0]
        failed = np.zeros(reps, dtype=bool)
        seconds = np.full(reps, float(len(steps) * HOLD_S))
        requests = steps[-1].seen[:, -1].astype(float)
        decided = np.full(reps, len(steps) - 1)
        for index, looks in enumerate(steps):
            high = self.high(looks)
            now = high.any(axis=1) & ~failed
            first = high.argmax(axis=1)
            seconds = np.where(now, index * HOLD_S + np.array(LOOK_MINUTES)[first] * 60.0, seconds)
            requests = np.where(now, looks.seen[np.arange(reps), first], requests)
            decided = np.where(now, index, decided)
            failed |= now
        return RolloutArrays(failed, seconds, requests, decided)
