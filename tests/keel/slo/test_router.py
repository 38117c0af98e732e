"""The local platform's view for the watcher: router windows summed into one growing set of counters."""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.slo.router import RouterTarget

BOUNDS = (0.1, 1.0, math.inf)


@dataclass
class Rev:
    name: str


class Router:
    """Each revision serves ``rate`` requests per second, ``errors`` of them 5xx, all under 100 ms."""

    def __init__(self) -> None:
        self.rates: dict[str, tuple[int, int]] = {"bayit-00001": (10, 0)}
        self.calls: list[tuple[str, float, float]] = []

    async def revisions(self) -> list[Any]:
        return [Rev(n) for n in self.rates]

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        self.calls.append((revision, start, end))
        rate, errors = self.rates[revision]
        n = round(rate * (end - start))
        return RevisionWindow(revision, start, end, n, round(errors * (end - start)),
                              LatencyHistogram(BOUNDS, (n, 0, 0)))  # fmt: skip


async def test_counters_grow_across_revisions_and_readiness_is_probed() -> None:
    clock = [100.0]
    router = Router()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=CollectorRegistry())
    try:
        target = RouterTarget(router, f"http://127.0.0.1:{server.server_address[1]}/health/ready",
                              clock=lambda: clock[0])  # fmt: skip
        first = await target.sample()
        clock[0] += 10
        router.rates["bayit-00002"] = (5, 5)  # a canary that fails everything
        second = await target.sample()
        await target.aclose()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert (first.requests, first.ready) == (0, True)
    assert (second.requests, second.errors) == (150, 50)
    assert second.latency.counts == (150, 0, 0)
    assert ("bayit-00002", 100.0, 110.0) in router.calls


async def test_an_unreachable_router_is_not_ready() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = RouterTarget(Router(), f"http://127.0.0.1:{port}/health/ready", timeout=1.0)
    sample = await target.sample()
    await target.aclose()
    assert sample.ready is None
