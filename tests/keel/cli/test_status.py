"""keel status's recent traffic per revision, read as slices of the router's windows."""

from __future__ import annotations

import math
from typing import Any, cast

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.cli.status import RECENT_SLICES, recent_traffic

BOUNDS = (0.01, 0.1, math.inf)


class Router:
    """Answers windows like the daemon: ``new`` served 10 requests a second, 1 in 10 failed, only in the last
    minute; ``old`` served nothing."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.calls: list[tuple[str, float, float]] = []

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        self.calls.append((revision, start, end))
        busy = revision == "new" and start >= self.now - 60.0
        requests = round((end - start) * 10) if busy else 0
        latency = LatencyHistogram(BOUNDS, (0, requests, 0))
        return RevisionWindow(revision, start, end, requests, requests // 10, latency)


async def test_recent_traffic_slices_the_last_minutes() -> None:
    router = Router(now=1000.0)
    rows = await recent_traffic(cast(Any, router), ["new", "old"], now=1000.0, minutes=5.0)
    assert len(router.calls) == 2 * RECENT_SLICES
    assert router.calls[0][1] == 700.0 and router.calls[RECENT_SLICES - 1][2] == 1000.0
    new, old = rows
    assert new["revision"] == "new" and len(new["rps"]) == RECENT_SLICES
    assert new["rps"][-1] == 10.0 and new["rps"][0] == 0.0
    assert new["error_rate"][-1] == 0.1 and new["error_rate"][0] is None  # no requests: no rate
    assert math.isclose(new["p95_ms"][-1], 95.5) and new["p95_ms"][0] is None  # 10-100 ms bucket
    assert old["rps"] == [0.0] * RECENT_SLICES and set(old["p95_ms"]) == {None}
