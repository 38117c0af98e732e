"""``--compare``: the suite's latency checks against a candidate and a baseline, interleaved pair by pair."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

from keel.errors import ConfigError
from keel.smoke import latency as sampling
from keel.smoke.compare import RatioEstimate, paired_ratio
from keel.smoke.report import ComparisonResult, FailureKind, Outcome, SmokeReport
from keel.smoke.runner import Target, base_url_of, new_client, prepare_variables, public_url
from keel.smoke.suite import LatencyCheck, Suite
from keel.types import Clock, Sleeper


class _Pair:
    """The two targets of a comparison and the randomness that orders each pair."""

    def __init__(self, candidate: Target, baseline: Target, rng: random.Random, clock: Clock) -> None:
        self.candidate = candidate
        self.baseline = baseline
        self.rng = rng
        self.clock = clock

    async def measure(
        self, check: LatencyCheck
    ) -> tuple[float, float, sampling.SampleError | None, sampling.SampleError | None]:
        """One candidate and one baseline request back to back, in random order so that neither side
        always profits from going first (warm caches, CPU frequency)."""
        probe_c = self.candidate.probe(check, {})
        probe_b = self.baseline.probe(check, {})
        if self.rng.random() < 0.5:
            tc, ec = await sampling.timed(probe_c, self.clock)
            tb, eb = await sampling.timed(probe_b, self.clock)
        else:
            tb, eb = await sampling.timed(probe_b, self.clock)
            tc, ec = await sampling.timed(probe_c, self.clock)
        return tc, tb, ec, eb

    async def compare(
        self, check: LatencyCheck, warmup: int, samples: int, looks: int, margin: float, confidence: float
    ) -> ComparisonResult:
        candidate: list[float] = []
        baseline: list[float] = []

        def result(
            outcome: Outcome, kind: FailureKind | None, message: str, estimate: RatioEstimate | None = None
        ) -> ComparisonResult:
            return ComparisonResult(
                name=check.name,
                method=check.method,
                path=check.path,
                outcome=outcome,
                margin=margin,
                confidence=confidence,
                ratio=estimate.ratio if estimate else None,
                lower_bound=estimate.lower if estimate else None,
                upper_bound=estimate.upper if estimate else None,
                candidate=tuple(candidate),
                baseline=tuple(baseline),
                kind=kind,
                message=self.candidate.redact(self.baseline.redact(message)),
            )

        if check.auth:
            return result(Outcome.skipped, None, "skipped: checks that need auth are not compared")
        # Up to ``looks`` rounds of ``samples`` pairs: stop as soon as the confidence interval is clear of
        # the margin (above: regression; below: no regression). Each look uses confidence 1 - alpha/looks
        # (Bonferroni), so looking again on a noisy machine never raises the false-alarm rate above alpha.
        level = 1 - (1 - confidence) / looks
        threshold = 1 + margin
        for look in range(1, looks + 1):
            start = 0 if look > 1 else -warmup
            for i in range(start, samples):
                tc, tb, ec, eb = await self.measure(check)
                for side, error in (("candidate", ec), ("baseline", eb)):
                    if error is not None:
                        pair = len(candidate) + 1
                        return result(Outcome.failed, error.kind, f"{side}, pair {pair}: {error.message}")
                if i >= 0:
                    candidate.append(tc)
                    baseline.append(tb)
            estimate = paired_ratio(candidate, baseline, level)
            if estimate.lower > threshold or estimate.upper <= threshold or look == looks:
                break
        text = (
            f"candidate/baseline {estimate.ratio:.3f} ({estimate.lower:.3f} to {estimate.upper:.3f}, one-sided "
            f"bounds at {level:.1%}) over {len(candidate)} pairs; margin {margin:.0%}"
        )
        if estimate.lower > threshold:
            return result(Outcome.failed, FailureKind.regression, "slower: " + text, estimate)
        if estimate.upper > threshold:
            text = "inconclusive, not proven slower: " + text
        return result(Outcome.passed, None, text, estimate)


async def compare_suite(
    suite: Suite,
    candidate_url: str,
    baseline_url: str,
    *,
    margin: float | None = None,
    confidence: float | None = None,
    samples: int | None = None,
    looks: int | None = None,
    deadline_s: float | None = None,
    clock: Clock = time.perf_counter,
    sleeper: Sleeper = asyncio.sleep,
    rng: random.Random | None = None,
    environ: Mapping[str, str] | None = None,
    candidate_transport: httpx.AsyncBaseTransport | None = None,
    baseline_transport: httpx.AsyncBaseTransport | None = None,
) -> SmokeReport:
    """Compare the latency checks of ``suite`` on the candidate against the baseline. A check fails only
    when the candidate is slower by more than ``margin`` with ``confidence`` (defaults: the suite's
    ``compare`` section)."""
    if suite.latency is None:
        raise ConfigError(f"suite {suite.name} has no latency checks to compare")
    settings = suite.compare
    margin = settings.margin if margin is None else margin
    confidence = settings.confidence if confidence is None else confidence
    samples = settings.samples if samples is None else samples
    rounds = settings.looks if looks is None else looks
    if not 0 <= margin <= 10 or not 0.5 <= confidence < 1 or samples < 10 or not 1 <= rounds <= 10:
        raise ConfigError(
            "--margin must be within 0..10, --confidence within [0.5, 1), --samples at least 10, looks 1..10"
        )
    candidate_base, baseline_base = base_url_of(candidate_url), base_url_of(baseline_url)
    # A generous default deadline: compare runs are CI jobs, not deploy gates.
    deadline = deadline_s if deadline_s is not None else max(suite.deadline, 300.0)
    rng = rng or random.Random()
    environ = os.environ if environ is None else environ
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = clock()
    results: dict[str, ComparisonResult] = {}
    async with (
        new_client(suite, candidate_transport) as candidate_client,
        new_client(suite, baseline_transport) as baseline_client,
    ):

        def target(base: httpx.URL, client: httpx.AsyncClient) -> Target:
            variables = prepare_variables(suite, rng, environ)
            t = Target(suite, base, client, variables, clock, sleeper, asyncio.Semaphore(1))
            t.default_headers = variables.render_headers(suite.defaults.headers.items())
            return t

        pair = _Pair(
            target(candidate_base, candidate_client), target(baseline_base, baseline_client), rng, clock
        )
        try:
            async with asyncio.timeout(deadline):
                for check in suite.latency.checks:
                    results[check.name] = await pair.compare(
                        check, settings.warmup, samples, rounds, margin, confidence
                    )
        except TimeoutError:
            pass
    late = f"not finished within the deadline of {deadline:g}s"
    comparisons = tuple(
        results.get(c.name)
        or ComparisonResult(
            c.name,
            c.method,
            c.path,
            Outcome.failed,
            margin,
            confidence,
            kind=FailureKind.deadline,
            message=late,
        )
        for c in suite.latency.checks
    )
    return SmokeReport(
        suite=suite.name,
        base_url=public_url(candidate_url),
        baseline_url=public_url(baseline_url),
        started_at=started_at,
        duration_s=clock() - start,
        comparisons=comparisons,
        deadline_s=deadline,
    )
