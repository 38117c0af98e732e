"""What the comparison judge can do with the traffic a service gets: a plan for each canary step, computed
before the release starts from the baseline's observed request rate.

For each step with a weight below 100 %: the expected requests of the canary and the baseline, the time until
both reach ``min_requests`` (after the warm-up), whether the hold is long enough, how long the step is held
past it, and what the judge can detect in the hold at the configured false-fail rate: the smallest error rate
and the smallest slow-down it would catch in most rollouts (``POWER``). The figures are planning estimates
(Poisson traffic at the observed rate, normal approximations to the judge's end-of-hold tests, log-normal
latencies with log-sd ``LOG_SD``), not guarantees. Pure: no I/O, the caller prints ``lines()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special

from keel.analysis.analyzer import cold_start_seconds
from keel.analysis.config import AnalysisSpec
from keel.analysis.judges.compare import BUDGET_SHARE, SEQUENTIAL_SHARE, step_alpha

POWER = 0.8  # "detects": in 80 % of rollouts
LOG_SD = 0.5  # a typical service's latency spread (log-normal sigma) for the latency figure


def _z(p: float) -> float:
    return float(special.ndtri(p))


@dataclass(frozen=True)
class StepPlan:
    """The plan of one canary step. Times in seconds from the start of the step; None when never."""

    step: int
    weight: float  # percent
    hold: float
    canary_rate: float  # requests per second
    baseline_rate: float
    canary_requests: float  # expected in the hold, after the warm-up
    baseline_requests: float
    seconds_to_min_requests: float | None
    hold_suffices: bool
    extra_hold: (
        float | None
    )  # how long the step is expected to be held past its hold for data, None: never enough
    final_alpha: float  # the error test's end-of-hold false-fail budget in this step
    detectable_error_rate: float | None  # at the stable error rate given, None when nothing is judged
    detectable_slowdown: float | None  # latency ratio (1.3 = 30 % slower), None when nothing is judged
    warning: str | None

    def line(self) -> str:
        head = f"step {self.step + 1} ({self.weight:g} %, hold {self.hold:g}s):"
        rates = f"canary {self.canary_rate:.3g} req/s, ~{self.canary_requests:.0f} requests in the hold"
        if self.seconds_to_min_requests is None:
            reach = "min_requests never reached"
        else:
            reach = f"min_requests after ~{self.seconds_to_min_requests:.0f}s"
        can = ""
        if self.detectable_error_rate is not None and self.detectable_slowdown is not None:
            can = (
                f"; catches error rates >= {self.detectable_error_rate:.2%} and slow-downs >= "
                f"x{self.detectable_slowdown:.2f}"
            )
        text = f"{head} {rates}, {reach}{can}"
        return text + (f". WARNING: {self.warning}" if self.warning else "")


@dataclass(frozen=True)
class AnalysisPlan:
    """The plan of a whole rollout: one ``StepPlan`` per judged step and the warnings worth printing."""

    request_rate: float
    base_error_rate: float
    steps: tuple[StepPlan, ...]

    @property
    def warnings(self) -> list[str]:
        return [f"step {s.step + 1}: {s.warning}" for s in self.steps if s.warning]

    def lines(self) -> list[str]:
        head = (
            f"analysis plan at {self.request_rate:.3g} req/s (stable error rate {self.base_error_rate:.2%}); "
            f"'catches' = in {POWER:.0%} of rollouts, estimated"
        )
        return [head, *(s.line() for s in self.steps)]


def _detectable_error_rate(n_c: float, n_b: float, base: float, alpha: float, allowed: float) -> float | None:
    """The smallest canary error rate the end-of-hold test rejects in ``POWER`` of rollouts (normal
    approximation to the conditional binomial test; with a clean baseline, the errors the canary needs)."""
    if n_c < 1 or n_b < 1:
        return None
    null = base * (1.0 + allowed)
    if base <= 0.0:
        # all k errors on the canary: rejected once share^k <= alpha
        share = n_c / (n_c + n_b)
        k = math.ceil(math.log(alpha) / math.log(share))
        # Poisson: P(at least k errors) >= POWER
        rate = k / n_c
        while special.pdtrc(k - 1, rate * n_c) < POWER:
            rate *= 1.02
        return min(1.0, rate)
    z = _z(1.0 - alpha) + _z(POWER)
    rate = null
    for _ in range(200):
        se = math.sqrt(rate / n_c + base / n_b)
        nxt = null + z * se
        if abs(nxt - rate) < 1e-9:
            break
        rate = nxt
    return min(1.0, rate)


def _detectable_slowdown(n_c: float, n_b: float, alpha: float, allowed: float) -> float | None:
    """The smallest latency ratio the end-of-hold Mann-Whitney test (against the allowance) rejects in
    ``POWER`` of rollouts, for log-normal latencies with log-sd ``LOG_SD``."""
    if n_c < 1 or n_b < 1:
        return None
    sd = math.sqrt((n_c + n_b + 1.0) / (12.0 * n_c * n_b))
    theta = (_z(1.0 - alpha) + _z(POWER)) * sd  # superiority above 1/2 needed
    if theta >= 0.5:
        return None
    return (1.0 + allowed) * math.exp(LOG_SD * math.sqrt(2.0) * _z(0.5 + theta))


def plan_rollout(
    request_rate: float,
    steps: Sequence[tuple[float, float]],
    spec: AnalysisSpec,
    *,
    base_error_rate: float = 0.01,
) -> AnalysisPlan:
    """The plan for a rollout whose steps are ``(weight in percent, hold in seconds)``, at ``request_rate``
    requests per second (the stable revision's observed rate, all of the traffic) and a stable error rate
    ``base_error_rate``. Steps at 100 % are not compared with a baseline and are left out."""
    if request_rate < 0 or not math.isfinite(request_rate):
        raise ValueError(f"request rate must be a non-negative number, not {request_rate!r}")
    planned = []
    for index, (weight, hold) in enumerate(steps):
        if weight >= 100:
            continue
        w = weight / 100.0
        canary_rate, baseline_rate = request_rate * w, request_rate * (1.0 - w)
        judged = max(0.0, hold - spec.warmup)
        n_c, n_b = canary_rate * judged, baseline_rate * judged
        slowest = min(canary_rate, baseline_rate)
        to_min = None if slowest <= 0 else spec.warmup + spec.min_requests / slowest
        suffices = to_min is not None and to_min <= hold
        extra: float | None = 0.0
        if not suffices:
            extra = None if to_min is None or to_min > hold + spec.max_extra_hold else to_min - hold
        alpha = (
            step_alpha(spec.false_fail_rate, index)
            * BUDGET_SHARE["error-rate"]
            * (1.0 - SEQUENTIAL_SHARE["error-rate"])
        )
        latency_alpha = (
            step_alpha(spec.false_fail_rate, index)
            * BUDGET_SHARE["latency"]
            * (1.0 - SEQUENTIAL_SHARE["latency"])
        )
        # data at the end of the hold, or when min_requests is reached if that is later (and within reach)
        at = hold if suffices or extra is None else hold + extra
        m_c, m_b = canary_rate * max(0.0, at - spec.warmup), baseline_rate * max(0.0, at - spec.warmup)
        errors = slow = None
        if extra is not None or spec.low_traffic == "judge":
            errors = _detectable_error_rate(m_c, m_b, base_error_rate, alpha, spec.errors.allowed_increase)
            latency_n_c = canary_rate * max(
                0.0, at - max(spec.warmup, cold_start_seconds(spec.cold_start, hold))
            )
            latency_n_b = latency_n_c * (1.0 - w) / w if w > 0 else 0.0
            slow = _detectable_slowdown(
                latency_n_c, latency_n_b, latency_alpha, spec.latency.allowed_increase
            )
        warning = _warning(spec, hold, to_min, extra, errors, base_error_rate)
        planned.append(
            StepPlan(
                step=index,
                weight=float(weight),
                hold=float(hold),
                canary_rate=canary_rate,
                baseline_rate=baseline_rate,
                canary_requests=n_c,
                baseline_requests=n_b,
                seconds_to_min_requests=to_min,
                hold_suffices=suffices,
                extra_hold=extra,
                final_alpha=alpha,
                detectable_error_rate=errors,
                detectable_slowdown=slow,
                warning=warning,
            )
        )
    return AnalysisPlan(request_rate, base_error_rate, tuple(planned))


def _warning(
    spec: AnalysisSpec,
    hold: float,
    to_min: float | None,
    extra: float | None,
    errors: float | None,
    base: float,
) -> str | None:
    if extra is None:
        reach = "never" if to_min is None else f"only after ~{to_min:.0f}s"
        if spec.low_traffic == "judge":
            return (
                f"min_requests ({spec.min_requests}) reached {reach}; low_traffic: judge passes the step at the "
                f"end of its hold on the little data there is (only large regressions are caught)"
            )
        policy = "rolled back" if spec.on_inconclusive == "fail" else "paused for a human"
        return (
            f"min_requests ({spec.min_requests}) reached {reach}, past the hold plus max_extra_hold "
            f"({hold + spec.max_extra_hold:g}s): every rollout, good or bad, ends inconclusive and is {policy} "
            f"(on_inconclusive: {spec.on_inconclusive}). Raise the step's weight or hold, lower min_requests, "
            f"or set low_traffic: judge"
        )
    if extra > 0:
        return f"held ~{extra:.0f}s past its hold to reach min_requests ({spec.min_requests})"
    if errors is not None and base > 0 and errors >= 2.0 * base:
        return f"only error rates of {errors:.2%} or more (at least {errors / base:.1f}x the stable rate) are caught"
    return None
