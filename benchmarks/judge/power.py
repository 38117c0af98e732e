"""Exact power of a one-step test for errors 1 % -> 2 % at 20 req/s in the 10-minute 10 % step: how much any
test could detect at a given false-fail rate (no simulation: binomial sums); and, for every error scenario of
the benchmark, the earliest median time to a fail verdict that any judge could reach at that false-fail rate.

    .venv/bin/python benchmarks/judge/power.py

The step sees about 1200 canary requests (2 req/s for 600 s) and 10800 baseline requests. Two tests, each
looking once, at the end of the step:

- "oracle": the baseline's rate (1 %) known exactly; reject when the canary's errors reach the smallest c
  with P(Binomial(1200, 1 %) >= c) <= alpha. No test on these data can do better at level alpha
  (Neyman-Pearson: the likelihood ratio is monotone in the canary's count).
- "conditional": what keel's end-of-hold ratio test does, with the baseline's rate unknown: given E errors in
  all, reject when P(Binomial(E, 1200 / 12000) >= canary errors) <= alpha. Exact, so its size is below alpha.

With ``ignore_below`` (0.2 points by default) a canary at 1.2 % is inside the allowance too, so the best test
is the oracle against 1.2 % ("oracle at the floor"), and keel's test is the conditional one and, at the same
alpha, the score test of a rise beyond the floor ("conditional + floor"; its size is taken at 1 % -> 1.2 %).

A last table does the same for latency, where the data are continuous: the best test of a slow-down on the
step's raw latencies (log-normal with the simulator's log-sd, known; the two-sample z-test on mean log
latency, which no test on the same requests beats at its level), against keel's old null (no slow-down) and
its null now (at most the 5 % allowance), spending the latency test's whole share of the step's budget on
one look at the end of the step; then with keel's own handicaps added one at a time: the step's first minute
not judged (``cold_start``) and only the end-of-hold share of the budget (half of it; the rest is the
sequential test's, which stops clear regressions early). Bucketing and ranks cost keel the rest.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from traffic import HOLD_S, RATES, SCENARIOS, SIGMA, SLOT_S, WEIGHTS, Scenario

CANARY, BASELINE = 1200, 10800
BEFORE, AFTER = 0.01, 0.02
FLOOR = 0.002  # errors.ignore_below's default


def oracle(alpha: float, null: float = BEFORE) -> tuple[int, float, float]:
    """(critical count, size, power) of the best test with the baseline's rate known, against ``null``."""
    c = 0
    while stats.binom.sf(c - 1, CANARY, null) > alpha:
        c += 1
    return c, float(stats.binom.sf(c - 1, CANARY, null)), float(stats.binom.sf(c - 1, CANARY, AFTER))


def conditional(alpha: float, floor: float = 0.0) -> tuple[float, float]:
    """(size, power) of the exact conditional binomial test, summed over all outcomes of both revisions; with a
    ``floor`` also the score test of a rise beyond it, and the size taken at a rise of exactly the floor."""
    share = CANARY / (CANARY + BASELINE)
    xs, ys = np.arange(0, 121), np.arange(0, 261)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    reject = stats.binom.sf(x - 1, x + y, share) <= alpha
    if floor > 0.0:
        # imported here: run.py imports this module, also to judge with an older keel on PYTHONPATH
        from keel.analysis.stats.binomial import compare_difference

        for i, j in zip(*np.nonzero(reject), strict=True):
            reject[i, j] = (
                compare_difference(int(xs[i]), CANARY, int(ys[j]), BASELINE, floor).fixed_p <= alpha
            )
    baseline = stats.binom.pmf(ys, BASELINE, BEFORE)[None, :]
    size = float((stats.binom.pmf(xs, CANARY, BEFORE + floor)[:, None] * baseline * reject).sum())
    power = float((stats.binom.pmf(xs, CANARY, AFTER)[:, None] * baseline * reject).sum())
    return size, power


def best_power(n: int, before: float, after: float, alpha: float) -> float:
    """Power of the most powerful level-``alpha`` test of error rate ``before`` against ``after`` on ``n``
    requests (Neyman-Pearson, randomised at the critical count, so its size is exactly ``alpha``)."""
    if n <= 0:
        return 0.0
    if before <= 0.0:  # one error proves the canary worse
        return 1.0 - (1.0 - after) ** n
    c = int(stats.binom.isf(alpha, n, before))  # smallest c with P0(X > c) <= alpha
    while stats.binom.sf(c, n, before) > alpha:
        c += 1
    while c > 0 and stats.binom.sf(c - 1, n, before) <= alpha:
        c -= 1
    above, at = float(stats.binom.sf(c, n, before)), float(stats.binom.pmf(c, n, before))
    gamma = 0.0 if at == 0.0 else (alpha - above) / at
    return float(stats.binom.sf(c, n, after) + gamma * stats.binom.pmf(c, n, after))


def earliest_median_fail(scenario: Scenario, rps: float, alpha: float) -> float | None:
    """A lower bound on any judge's median time to fail an error regression over the default rollout.

    A judge that fails at most ``alpha`` of identical canaries makes, by any time t, a test of size <= alpha
    on the canary's data up to t; no such test detects more often than the most powerful one with the stable
    rate known exactly (the canary's request count taken at its expected value). So the median time to fail
    (a miss counting as never) is at least the first slot boundary where that test detects half the time.
    None when it does not within the two steps' holds."""
    if scenario.canary_error <= scenario.base_error:
        return None
    t = SLOT_S
    while t <= HOLD_S * len(WEIGHTS):
        first = min(t, HOLD_S)
        exposure = WEIGHTS[0] * first + WEIGHTS[1] * max(0, t - HOLD_S)
        n = math.floor(rps * exposure)
        if best_power(n, scenario.base_error, scenario.canary_error, alpha) >= 0.5:
            return float(t)
        t += SLOT_S
    return None


def latency_power(n_c: float, n_b: float, factor: float, null: float, alpha: float) -> float:
    """Power of the level-``alpha`` two-sample z-test of "the canary at most ``null`` times slower" on ``n_c``
    and ``n_b`` raw log-normal latencies (log-sd ``SIGMA`` known) when the canary is ``factor`` times slower."""
    if n_c <= 0 or n_b <= 0:
        return 0.0
    se = SIGMA * math.sqrt(1.0 / n_c + 1.0 / n_b)
    return float(stats.norm.sf(stats.norm.isf(alpha) - math.log(factor / null) / se))


def latency_yardstick(scenario: Scenario, rps: float, step: int) -> tuple[float, float, float, float]:
    """(best test against no slow-down, against the allowance, + cold start left out, + end-of-hold share)
    for the latency test of canary step ``step`` (0-based) of the default rollout, with keel's defaults."""
    # imported here: run.py imports this module, also to judge with an older keel on PYTHONPATH
    from keel.analysis.analyzer import cold_start_seconds
    from keel.analysis.config import AnalysisSpec
    from keel.analysis.judges.compare import BUDGET_SHARE, SEQUENTIAL_SHARE, step_alpha

    spec = AnalysisSpec()
    weight = WEIGHTS[step]
    alpha = step_alpha(spec.false_fail_rate, step) * BUDGET_SHARE["latency"]
    limit = 1.0 + spec.latency.allowed_increase
    n_c, n_b = rps * weight * HOLD_S, rps * (1.0 - weight) * HOLD_S
    judged = (HOLD_S - cold_start_seconds(spec.cold_start, HOLD_S)) / HOLD_S
    factor = scenario.latency_factor
    return (
        latency_power(n_c, n_b, factor, 1.0, alpha),
        latency_power(n_c, n_b, factor, limit, alpha),
        latency_power(n_c * judged, n_b * judged, factor, limit, alpha),
        latency_power(n_c * judged, n_b * judged, factor, limit, alpha * (1.0 - SEQUENTIAL_SHARE["latency"])),
    )


def main() -> None:
    print(
        "| alpha | oracle: reject at >= errors | oracle size | oracle power | conditional size | conditional power "
        "| oracle at the floor: reject at >= | power | conditional + floor: size at 1.2 % | power |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for alpha in (0.16, 0.05, 0.01, 0.005, 0.0025, 0.00125):
        c, size, power = oracle(alpha)
        csize, cpower = conditional(alpha)
        fc, _, fpower = oracle(alpha, BEFORE + FLOOR)
        msize, mpower = conditional(alpha, FLOOR)
        print(
            f"| {alpha:g} | {c} | {size:.4f} | {power:.3f} | {csize:.4f} | {cpower:.3f} | {fc} | {fpower:.3f} "
            f"| {msize:.4f} | {mpower:.3f} |"
        )
    print()
    print("| error scenario | req/s | any judge at <= 1 % false fails: median time to fail >= s |")
    print("|---|---|---|")
    for scenario in SCENARIOS:
        if scenario.canary_error > scenario.base_error:
            for rps in scenario.rates or RATES:
                bound = earliest_median_fail(scenario, rps, 0.01)
                print(f"| {scenario.name} | {rps:g} | {'-' if bound is None else f'{bound:.0f}'} |")
    print()
    print(
        "| latency scenario | req/s | step | best test vs x1.0 | best test vs x1.05 | + first minute not judged "
        "| + end-of-hold share |"
    )
    print("|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        if scenario.regression and scenario.latency_factor > 1.0 and scenario.layout == "router":
            for rps in scenario.rates or RATES:
                for step, weight in enumerate(WEIGHTS):
                    row = " | ".join(f"{p:.1%}" for p in latency_yardstick(scenario, rps, step))
                    print(f"| {scenario.name} | {rps:g} | {weight:.0%} | {row} |")


if __name__ == "__main__":
    main()
