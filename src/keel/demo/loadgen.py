"""Steady synthetic traffic: a fixed request rate spread over a few paths, with counts of every outcome."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from keel.analysis.base import LatencyHistogram
from keel.types import Clock

# Latency buckets (seconds) of the per-second series: enough resolution for a p95 chart, 15 ints a second.
LATENCY_BOUNDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, math.inf,
)  # fmt: skip
MAX_SECONDS = 3600  # the per-second series keeps at most this many seconds (the latest)


@dataclass
class SecondBucket:
    """What finished in one second: requests, errors (5xx and transport errors) and latency bucket counts."""

    requests: int = 0
    errors: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BOUNDS))


@dataclass
class LoadStats:
    """Outcomes by kind: an HTTP status code ("200", "500") or a transport error ("ConnectError"), and a
    bounded per-second series (``seconds``: index = whole seconds since the start) for charts."""

    outcomes: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    stopped: float = 0.0
    seconds: dict[int, SecondBucket] = field(default_factory=dict)
    max_seconds: int = MAX_SECONDS

    def record(self, second: int, outcome: str, latency: float) -> None:
        """Count one finished request ``latency`` seconds long, in whole second ``second`` of the run."""
        self.outcomes[outcome] += 1
        bucket = self.seconds.get(second)
        if bucket is None:
            bucket = self.seconds[second] = SecondBucket()
            while len(self.seconds) > self.max_seconds:  # bounded: forget the oldest second
                del self.seconds[min(self.seconds)]
        bucket.requests += 1
        if not outcome.isdigit() or int(outcome) >= 500:
            bucket.errors += 1
        bucket.latency[bisect.bisect_left(LATENCY_BOUNDS, latency)] += 1

    def timeline(self) -> dict[str, Any]:
        """The per-second series: requests, errors and p95 latency (ms; None in a second with no requests),
        from the first to the last recorded second, with empty seconds in between filled in."""
        if not self.seconds:
            return {"bucket_s": 1, "first_s": 0, "requests": [], "errors": [], "p95_ms": []}
        first, last = min(self.seconds), max(self.seconds)
        requests, errors, p95 = [], [], []
        for second in range(first, last + 1):
            bucket = self.seconds.get(second, SecondBucket())
            requests.append(bucket.requests)
            errors.append(bucket.errors)
            value = LatencyHistogram(LATENCY_BOUNDS, tuple(bucket.latency)).quantile(0.95)
            p95.append(None if value is None else round(value * 1000.0, 1))
        return {"bucket_s": 1, "first_s": first, "requests": requests, "errors": errors, "p95_ms": p95}

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    @property
    def transport_errors(self) -> int:
        return sum(n for kind, n in self.outcomes.items() if not kind.isdigit())

    @property
    def server_errors(self) -> int:
        return sum(n for kind, n in self.outcomes.items() if kind.isdigit() and int(kind) >= 500)

    def to_json(self) -> dict[str, object]:
        return {
            "requests": self.total,
            "outcomes": dict(sorted(self.outcomes.items())),
            "server_errors": self.server_errors,
            "transport_errors": self.transport_errors,
            "seconds": round(self.stopped - self.started, 3) if self.stopped else None,
            "timeline": self.timeline(),
        }


class LoadGenerator:
    """Sends ``rate`` requests per second (open loop: a slow answer does not slow the schedule) until stopped."""

    def __init__(
        self,
        base_url: str,
        paths: Sequence[str] = ("/api/v1/content?limit=5", "/api/v1/", "/api/v1/live?limit=5"),
        rate: float = 40.0,
        timeout: float = 10.0,
        clock: Clock = time.monotonic,
        max_in_flight: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.paths = tuple(paths)
        self.rate = rate
        self.timeout = timeout
        self.stats = LoadStats()
        self._clock = clock
        self._limit = asyncio.Semaphore(max_in_flight)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._t0 = 0.0

    async def __aenter__(self) -> LoadGenerator:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        self.stats.started = time.time()
        self._t0 = self._clock()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> LoadStats:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        self.stats.stopped = time.time()
        return self.stats

    async def _one(self, client: httpx.AsyncClient, path: str) -> None:
        began = self._clock()
        try:
            response = await client.get(path)
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        finally:
            self._limit.release()
        now = self._clock()
        self.stats.record(int(now - self._t0), outcome, now - began)

    async def _run(self) -> None:
        interval = 1.0 / self.rate
        pending: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, limits=limits) as client:
            next_at = self._clock()
            i = 0
            while not self._stopping.is_set():
                await self._limit.acquire()
                task = asyncio.create_task(self._one(client, self.paths[i % len(self.paths)]))
                pending.add(task)
                task.add_done_callback(pending.discard)
                i += 1
                next_at += interval
                delay = next_at - self._clock()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
