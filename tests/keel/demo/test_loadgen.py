"""The load generator keeps its rate against a real server and counts every outcome."""

from __future__ import annotations

import asyncio

from keel.demo.loadgen import LoadGenerator
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


async def test_connection_errors_are_counted_not_raised() -> None:
    async with LoadGenerator(f"http://127.0.0.1:{free_port()}", rate=20) as load:
        await asyncio.sleep(0.3)
    assert load.stats.transport_errors == load.stats.total > 0
