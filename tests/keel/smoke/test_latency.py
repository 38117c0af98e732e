"""Latency checks: percentiles over N samples after a warm-up, never one request."""

from __future__ import annotations

import pytest

from keel.smoke import FailureKind, Outcome, parse_suite, run_suite
from keel.smoke.latency import SampleError, format_seconds, percentile, sample
from tests.keel.smoke.misbehaving import MisbehavingServer


def test_percentile_interpolates_between_order_statistics() -> None:
    data = [float(x) for x in range(1, 101)]
    assert percentile(data, 50) == pytest.approx(50.5)
    assert percentile(data, 95) == pytest.approx(95.05)
    assert percentile(data, 100) == 100.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 95) is None
    with pytest.raises(ValueError):
        percentile(data, 101)


def test_format_seconds() -> None:
    assert format_seconds(0.0123) == "12.3 ms"
    assert format_seconds(1.5) == "1.50 s"
    assert format_seconds(None) == "-"


async def test_sampling_warms_up_then_times_each_request_with_the_injected_clock() -> None:
    now = [0.0]
    calls = [0]

    def clock() -> float:
        return now[0]

    async def probe() -> SampleError | None:
        calls[0] += 1
        now[0] += 0.010 * calls[0]  # each request slower than the one before
        return None

    result = await sample(probe, warmup=3, count=5, clock=clock)
    assert calls[0] == 8
    assert result.error is None
    assert result.values == pytest.approx([0.04, 0.05, 0.06, 0.07, 0.08])


async def test_sampling_stops_at_the_first_failed_request() -> None:
    calls = [0]

    async def probe() -> SampleError | None:
        calls[0] += 1
        return (
            SampleError(FailureKind.wrong_status, "expected status 200, got 500") if calls[0] == 4 else None
        )

    result = await sample(probe, warmup=1, count=10, clock=lambda: 0.0)
    assert len(result.values) == 2
    assert result.error is not None and result.error.message.startswith("sample 3 of 10")


LATENCY = """
latency:
  warmup: 2
  samples: 12
  checks:
    - {{name: endpoint, path: /latency, max: {limit}}}
"""


async def test_a_fast_endpoint_passes_and_a_slow_one_fails(server: MisbehavingServer) -> None:
    server.delay = 0.05
    fast = await run_suite(parse_suite(LATENCY.format(limit="2s")), server.url)
    assert fast.passed
    result = fast.latency[0]
    assert result.outcome is Outcome.passed and len(result.samples) == 12
    assert result.value_s is not None and result.value_s >= 0.05
    # 2 warm-up + 12 samples: never a single request.
    assert sum(r.path == "/latency" for r in server.seen) == 14

    slow = await run_suite(parse_suite(LATENCY.format(limit="20ms")), server.url)
    result = slow.latency[0]
    assert (result.outcome, result.kind) == (Outcome.failed, FailureKind.latency)
    assert "limit 20.0 ms" in result.message
    assert not slow.passed


async def test_a_failing_sample_fails_the_latency_check_with_its_own_kind(server: MisbehavingServer) -> None:
    suite = parse_suite("latency:\n  checks:\n    - {name: gone, path: /status/500, max: 1s}\n")
    report = await run_suite(suite, server.url)
    assert report.latency[0].kind is FailureKind.wrong_status
    assert report.latency[0].message.startswith("warm-up request 1")


async def test_include_latency_false_skips_the_section(server: MisbehavingServer) -> None:
    suite = parse_suite("groups: {g: {checks: [{name: ok, path: /ok}]}}\n" + LATENCY.format(limit="1s"))
    report = await run_suite(suite, server.url, include_latency=False)
    assert report.latency == () and report.passed
