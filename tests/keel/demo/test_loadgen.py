"""The load generator keeps its rate against a real server and counts every outcome."""

from __future__ import annotations

import asyncio

from keel.demo.loadgen import LoadGenerator, LoadStats
from tests.keel.platforms.local.conftest import InProcessRevision, free_port


async def test_rate_and_outcomes() -> None:
    revision = InProcessRevision("load", free_port(), error_rate=0.25)
    await revision.start()
    try:
        async with LoadGenerator(f"http://127.0.0.1:{revision.port}", paths=("/",), rate=50) as load:
            await asyncio.sleep(1.0)
        stats = load.stats
    finally:
        await revision.stop()
    assert 25 <= stats.total <= 75  # about 50 in one second; generous on a loaded machine
    assert stats.outcomes["500"] == stats.total // 4
    assert stats.server_errors == stats.outcomes["500"] and stats.transport_errors == 0
    assert stats.to_json()["requests"] == stats.total
    timeline = stats.to_json()["timeline"]
    assert sum(timeline["requests"]) == stats.total and sum(timeline["errors"]) == stats.outcomes["500"]
    assert all(p is None or p > 0 for p in timeline["p95_ms"])


async def test_connection_errors_are_counted_not_raised() -> None:
    async with LoadGenerator(f"http://127.0.0.1:{free_port()}", rate=20) as load:
        await asyncio.sleep(0.3)
    assert load.stats.transport_errors == load.stats.total > 0


def test_per_second_series() -> None:
    stats = LoadStats()
    for _ in range(19):
        stats.record(3, "200", 0.008)
    stats.record(3, "500", 0.45)
    stats.record(5, "ReadTimeout", 10.0)
    timeline = stats.timeline()
    assert timeline["first_s"] == 3 and timeline["bucket_s"] == 1
    assert timeline["requests"] == [20, 0, 1] and timeline["errors"] == [1, 0, 1]
    # 20 requests: the 95th percentile is the 19th, the last of those in the (5 ms, 10 ms] bucket
    assert timeline["p95_ms"] == [10.0, None, 9750.0]  # (5 s, 10 s]: interpolated
    assert LoadStats().timeline()["requests"] == []


def test_per_second_series_is_bounded() -> None:
    stats = LoadStats(max_seconds=3)
    for second in range(10):
        stats.record(second, "200", 0.01)
    assert sorted(stats.seconds) == [7, 8, 9] and stats.total == 10
