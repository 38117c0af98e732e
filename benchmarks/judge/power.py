"""Exact power of a one-step test for errors 1 % -> 2 % at 20 req/s in the 10-minute 10 % step: how much any
test could detect at a given false-fail rate (no simulation: binomial sums).

    .venv/bin/python benchmarks/judge/power.py

The step sees about 1200 canary requests (2 req/s for 600 s) and 10800 baseline requests. Two tests, each
looking once, at the end of the step:

- "oracle": the baseline's rate (1 %) known exactly; reject when the canary's errors reach the smallest c
  with P(Binomial(1200, 1 %) >= c) <= alpha. No test on these data can do better at level alpha
  (Neyman-Pearson: the likelihood ratio is monotone in the canary's count).
- "conditional": what keel's end-of-hold test does, with the baseline's rate unknown: given E errors in all,
  reject when P(Binomial(E, 1200 / 12000) >= canary errors) <= alpha. Exact, so its size is below alpha.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

CANARY, BASELINE = 1200, 10800
BEFORE, AFTER = 0.01, 0.02


def oracle(alpha: float) -> tuple[int, float, float]:
    """(critical count, size, power) of the best test with the baseline's rate known."""
    c = 0
    while stats.binom.sf(c - 1, CANARY, BEFORE) > alpha:
        c += 1
    return c, float(stats.binom.sf(c - 1, CANARY, BEFORE)), float(stats.binom.sf(c - 1, CANARY, AFTER))


def conditional(alpha: float) -> tuple[float, float]:
    """(size, power) of the exact conditional binomial test, summed over all outcomes of both revisions."""
    share = CANARY / (CANARY + BASELINE)
    xs, ys = np.arange(0, 121), np.arange(0, 261)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    reject = stats.binom.sf(x - 1, x + y, share) <= alpha
    baseline = stats.binom.pmf(ys, BASELINE, BEFORE)[None, :]
    size = float((stats.binom.pmf(xs, CANARY, BEFORE)[:, None] * baseline * reject).sum())
    power = float((stats.binom.pmf(xs, CANARY, AFTER)[:, None] * baseline * reject).sum())
    return size, power


def main() -> None:
    print(
        "| alpha | oracle: reject at >= errors | oracle size | oracle power | conditional size | conditional power |"
    )
    print("|---|---|---|---|---|---|")
    for alpha in (0.16, 0.05, 0.01, 0.005, 0.0025, 0.00125):
        c, size, power = oracle(alpha)
        csize, cpower = conditional(alpha)
        print(f"| {alpha:g} | {c} | {size:.4f} | {power:.3f} | {csize:.4f} | {cpower:.3f} |")


if __name__ == "__main__":
    main()
