"""--compare against real servers with an injected delay: a candidate whose server takes 30 % longer is
flagged, an identical one passes, in repeated runs."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from keel.errors import ConfigError
from keel.smoke import FailureKind, Outcome, compare_suite, parse_suite
from tests.keel.smoke.misbehaving import MisbehavingServer

SUITE = parse_suite(
    """
latency:
  checks:
    - {name: endpoint, path: /latency, max: 1s}
compare: {margin: 10%, confidence: 0.95, samples: 30, looks: 3, warmup: 3}
"""
)
RUNS = 3
DELAY = 0.040  # large enough that scheduling noise on a loaded machine does not dilute a 30 % slow-down


@pytest.fixture
async def pair() -> AsyncIterator[tuple[MisbehavingServer, MisbehavingServer]]:
    candidate = await MisbehavingServer(DELAY).start()
    baseline = await MisbehavingServer(DELAY).start()
    try:
        yield candidate, baseline
    finally:
        await candidate.stop()
        await baseline.stop()


async def test_a_30_percent_slower_candidate_is_flagged_in_every_run(
    pair: tuple[MisbehavingServer, MisbehavingServer],
) -> None:
    candidate, baseline = pair
    candidate.delay = DELAY * 1.3
    for run in range(RUNS):
        report = await compare_suite(SUITE, candidate.url, baseline.url, rng=random.Random(run))
        result = report.comparisons[0]
        assert (result.outcome, result.kind) == (Outcome.failed, FailureKind.regression), result.message
        assert result.lower_bound is not None and result.lower_bound > 1.10
        assert not report.passed
        assert report.failures[0].check == "compare/endpoint"


async def test_an_identical_candidate_passes_in_every_run(
    pair: tuple[MisbehavingServer, MisbehavingServer],
) -> None:
    candidate, baseline = pair
    for run in range(RUNS):
        report = await compare_suite(SUITE, candidate.url, baseline.url, rng=random.Random(run))
        result = report.comparisons[0]
        assert result.outcome is Outcome.passed, result.message
        assert result.ratio is not None and 0.85 < result.ratio < 1.15
        assert len(result.candidate) == len(result.baseline) and len(result.candidate) in (30, 60, 90)
        assert report.passed


async def test_interleaving_cancels_drift(pair: tuple[MisbehavingServer, MisbehavingServer]) -> None:
    """Both servers slow down steadily during the run (to 3x their starting latency): measured one after
    the other they would differ by far more than the margin; interleaved, they are judged the same."""
    candidate, baseline = pair
    candidate.drift = baseline.drift = DELAY * 2 / 33
    report = await compare_suite(SUITE, candidate.url, baseline.url, rng=random.Random(1))
    result = report.comparisons[0]
    assert result.outcome is Outcome.passed, result.message
    assert max(result.baseline) > 2 * min(result.baseline)  # the drift really happened


async def test_the_margin_and_confidence_can_be_overridden(
    pair: tuple[MisbehavingServer, MisbehavingServer],
) -> None:
    candidate, baseline = pair
    candidate.delay = DELAY * 1.3
    report = await compare_suite(SUITE, candidate.url, baseline.url, margin=0.6, samples=12, confidence=0.9)
    result = report.comparisons[0]
    assert result.outcome is Outcome.passed and result.margin == 0.6 and result.confidence == 0.9
    assert len(result.candidate) == 12


async def test_a_baseline_that_is_down_fails_with_its_kind(
    server: MisbehavingServer, closed_port: int
) -> None:
    report = await compare_suite(SUITE, server.url, f"http://127.0.0.1:{closed_port}")
    result = report.comparisons[0]
    assert result.kind is FailureKind.connection_refused
    assert result.message.startswith("baseline, pair 1")


async def test_compare_needs_latency_checks_and_sane_settings(server: MisbehavingServer) -> None:
    with pytest.raises(ConfigError, match="no latency checks"):
        await compare_suite(
            parse_suite("groups: {g: {checks: [{name: a, path: /ok}]}}"), server.url, server.url
        )
    with pytest.raises(ConfigError, match="--samples"):
        await compare_suite(SUITE, server.url, server.url, samples=3)
