"""Steady synthetic traffic: a fixed request rate spread over a few paths, with counts of every outcome."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from keel.types import Clock


@dataclass
class LoadStats:
    """Outcomes by kind: an HTTP status code ("200", "500") or a transport error ("ConnectError")."""

    outcomes: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    stopped: float = 0.0

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

    async def __aenter__(self) -> LoadGenerator:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        self.stats.started = time.time()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> LoadStats:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        self.stats.stopped = time.time()
        return self.stats

    async def _one(self, client: httpx.AsyncClient, path: str) -> None:
        try:
            response = await client.get(path)
            self.stats.outcomes[str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            self.stats.outcomes[type(exc).__name__] += 1
        finally:
            self._limit.release()

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
