"""The normal-mixture likelihood ratio: its formula, and Ville's bound on repeated looks."""

import math

import numpy as np
import pytest

from keel.analysis.stats.sequential import always_valid_normal_log_lr


def test_normal_mixture_log_lr() -> None:
    v, tau, theta = 0.01, 0.1, 0.2
    expected = 0.5 * math.log(v / (v + tau**2)) + tau**2 * theta**2 / (2 * v * (v + tau**2))
    assert always_valid_normal_log_lr(theta, v, tau) == pytest.approx(expected)
    assert always_valid_normal_log_lr(0.0, v, tau) < 0
    assert always_valid_normal_log_lr(0.1, 0.0, tau) == 0.0


def test_looking_after_every_observation_stays_within_alpha() -> None:
    # 1000 null random walks of 300 standard normal steps, tested after every step: the share that ever
    # crosses log(1/alpha) stays under alpha (a fixed-sample z-test looked at that often would exceed it many
    # times over)
    rng = np.random.default_rng(7)
    alpha, tau = 0.05, 1.0
    walks = np.cumsum(rng.standard_normal((1000, 300)), axis=1)
    n = np.arange(1, 301)
    crossed = 0
    naive = 0
    for walk in walks:
        means = walk / n
        if any(always_valid_normal_log_lr(m, 1.0 / k, tau) >= math.log(1 / alpha) for m, k in zip(means, n)):
            crossed += 1
        naive += bool(np.any(walk / np.sqrt(n) > 1.645))
    assert crossed / len(walks) <= alpha
    assert naive / len(walks) > 3 * alpha
