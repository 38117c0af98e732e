"""A fake clock and a target that plays a script of service states, for ticking the watcher in tests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from keel.analysis.base import LatencyHistogram
from keel.notify.base import Event
from keel.slo.samples import CheckStreak, Sample

BOUNDS = (0.1, 0.5, 1.0, 2.5, math.inf)


@dataclass
class Service:
    """What the service is doing now; each ``sample`` adds one interval of traffic to its counters."""

    clock: list[float]
    rps: int = 100
    error_share: float = 0.0
    slow_share: float = 0.0  # answered in 1-2.5 s, the rest under 100 ms
    ready: bool | None = True
    checks: dict[str, CheckStreak] = field(default_factory=dict)
    requests: float = 0.0
    errors: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BOUNDS))

    async def sample(self) -> Sample:
        if self.ready is None:
            return Sample(self.clock[0], ready=None, scraped=False)
        self.requests += self.rps
        self.errors += round(self.rps * self.error_share)
        slow = round(self.rps * self.slow_share)
        self.buckets[0] += self.rps - slow
        self.buckets[3] += slow
        hist = LatencyHistogram(BOUNDS, tuple(self.buckets))
        return Sample(self.clock[0], self.requests, self.errors, hist, dict(self.checks), self.ready)

    async def aclose(self) -> None:
        return None


class Recording:
    """A notifier that keeps what it was sent; ``fail`` makes it refuse."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[Event] = []
        self.fail = False

    async def send(self, event: Event) -> None:
        if self.fail:
            raise RuntimeError("channel down")
        self.events.append(event)

    async def aclose(self) -> None:
        return None
