"""Calibrating the baselines: per traffic (request rate and the stable version's error rate, what an operator
knows about a service) choose the configuration that catches regressions soonest among those that fail at
most ``target`` of identical canaries, all on calibration runs whose seeds differ from the evaluation's.

- Flagger-style: the success-rate minimum, the p99 maximum and the failed-checks threshold.
- Kayenta-style: the Mann-Whitney confidence and the meanRatio effect size (``allowedIncrease``).

Admissible: the A/A false-fail rate over a whole rollout on the calibration runs is at most ``target``.
Among those, the one with the lowest score: the mean over the regression scenarios with that stable error
rate of the median time to a fail verdict, a missed regression counting as never (capped at ``MISS_S``).
That is generous to the baselines (each is tuned on the very regressions it is then scored on, with other
seeds); keel is not tuned at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from baselines import CHECKS, FlaggerConfig, KayentaConfig, RolloutArrays

MISS_S = 3600.0

FLAGGER_GRID: tuple[FlaggerConfig, ...] = tuple(
    FlaggerConfig(success, threshold, p99)
    for p99 in (0.5, 0.75, 1.0, 2.0)
    for success in (
        0.99,
        0.985,
        0.98,
        0.975,
        0.97,
        0.96,
        0.95,
        0.94,
        0.92,
        0.9,
        0.85,
        0.8,
        0.75,
        0.7,
        0.6,
        0.5,
    )
    for threshold in range(1, 2 * CHECKS + 1)
)
KAYENTA_GRID: tuple[KayentaConfig, ...] = tuple(
    KayentaConfig(confidence, increase)
    for increase in (1.0, 1.05, 1.1, 1.2, 1.3, 1.5, 2.0, 3.0, 5.0, 10.0)
    for confidence in (0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999)
)


def time_to_fail(result: RolloutArrays) -> float:
    """Median seconds to a fail verdict over all replicas, a miss counting as never (inf)."""
    times = np.where(result.failed, result.seconds, np.inf)
    return float(np.median(times))


@dataclass(frozen=True)
class Calibration:
    config: Any  # FlaggerConfig | KayentaConfig
    aa_false_fail: float  # worst A/A false-fail rate on the calibration runs
    score: float
    admissible: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.label(),
            "aa_false_fail": self.aa_false_fail,
            "score_s": self.score,
            "admissible": self.admissible,
        }


def choose(
    grid: Sequence[Any], aa: Sequence[list[Any]], regressions: Sequence[list[Any]], target: float
) -> Calibration:
    """``aa`` and ``regressions``: per scenario, the baseline's per-step data of the calibration runs."""
    best: Calibration | None = None
    safest: Calibration | None = None
    for config in grid:
        false_fail = max(float(config.rollout(steps).failed.mean()) for steps in aa)
        if safest is None or false_fail < safest.aa_false_fail:
            safest = Calibration(config, false_fail, MISS_S, False)
        if false_fail > target:
            continue
        times = [min(time_to_fail(config.rollout(steps)), MISS_S) for steps in regressions]
        score = float(np.mean(times)) if times else 0.0
        if best is None or (score, false_fail) < (best.score, best.aa_false_fail):
            best = Calibration(config, false_fail, score, True)
    if best is not None:
        return best
    assert safest is not None
    return safest
