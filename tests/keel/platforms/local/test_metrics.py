"""RouterMetrics: per-second slots, windows over them, retention and the admin API's JSON form."""

from __future__ import annotations

import math

import pytest

from keel.platforms.local.metrics import LATENCY_BOUNDS, RouterMetrics, window_from_json, window_to_json


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_window_counts_requests_errors_and_latency_buckets() -> None:
    clock = FakeClock()
    metrics = RouterMetrics(clock)
    metrics.record("a", 200, 0.004)
    metrics.record("a", 503, 0.2)
    metrics.record("a", 502, 120.0)  # beyond the last finite bound: the +Inf bucket
    metrics.record("b", 200, 0.001)
    window = metrics.window("a", 999.5, 1000.5)
    assert (window.requests, window.errors) == (3, 2)
    counts = dict(zip(window.latency.bounds, window.latency.counts, strict=True))
    assert counts[0.004] == 1 and counts[0.2] == 1 and counts[math.inf] == 1
    assert window.latency.total == 3
    assert metrics.window("b", 999, 1001).requests == 1


def test_window_takes_only_the_seconds_that_overlap_it() -> None:
    clock = FakeClock(100.0)
    metrics = RouterMetrics(clock)
    for second in range(100, 110):
        clock.now = second + 0.5
        metrics.record("a", 200, 0.01)
        metrics.record("a", 200, 0.01)
    assert metrics.window("a", 103.0, 105.9).requests == 6  # seconds 103, 104, 105
    assert metrics.window("a", 103.2, 103.3).requests == 2
    assert metrics.window("a", 200, 300).requests == 0
    assert metrics.window("unknown", 0, 1e12).requests == 0  # no data is a window with 0 requests


def test_old_slots_fall_out_of_retention() -> None:
    clock = FakeClock(0.0)
    metrics = RouterMetrics(clock, retention=10)
    metrics.record("a", 200, 0.01)
    clock.now = 5
    metrics.record("a", 500, 0.01)
    clock.now = 100
    metrics.record("a", 200, 0.01)
    assert metrics.window("a", 0, 200).requests == 1
    totals = metrics.totals("a")
    assert (totals.requests, totals.errors, totals.statuses) == (1, 0, {200: 1})


def test_totals_count_status_codes() -> None:
    metrics = RouterMetrics(FakeClock())
    for status in (200, 200, 404, 500, 502):
        metrics.record("a", status, 0.01)
    assert metrics.totals("a").to_json() == {
        "revision": "a",
        "requests": 5,
        "errors": 2,
        "statuses": {"200": 2, "404": 1, "500": 1, "502": 1},
    }


def test_json_round_trip_writes_inf_as_text() -> None:
    metrics = RouterMetrics(FakeClock())
    metrics.record("a", 200, 0.3)
    metrics.record("a", 200, 99.0)
    window = metrics.window("a", 999, 1001)
    data = window_to_json(window)
    assert data["latency"]["bounds"][-1] == "+Inf"
    assert window_from_json(data) == window
    assert len(data["latency"]["bounds"]) == len(LATENCY_BOUNDS)


@pytest.mark.parametrize("seconds", [0.0, 0.0005, 0.00051, 59.9, 60.0, 61.0])
def test_every_latency_lands_in_a_bucket_whose_bound_covers_it(seconds: float) -> None:
    metrics = RouterMetrics(FakeClock())
    metrics.record("a", 200, seconds)
    window = metrics.window("a", 999, 1001)
    index = window.latency.counts.index(1)
    assert seconds <= window.latency.bounds[index]
    assert index == 0 or seconds > window.latency.bounds[index - 1]


def test_each_second_gets_its_own_slot_as_the_clock_moves() -> None:
    clock = FakeClock(1_000.2)
    metrics = RouterMetrics(clock)
    metrics.record("a", 200, 0.01)
    metrics.record("b", 500, 0.01)
    clock.now = 1_001.5
    metrics.record("a", 200, 0.01)
    metrics.record("a", 503, 0.01)
    assert metrics.window("a", 1_000.0, 1_000.9).requests == 1
    second = metrics.window("a", 1_001.0, 1_001.9)
    assert (second.requests, second.errors) == (2, 1)
    assert metrics.window("b", 1_001.0, 1_001.9).requests == 0
    assert metrics.totals("b").errors == 1
