"""A watcher target for the local platform: the router's per-revision counters summed into what users see,
and readiness through the router (the ``keel demo`` and ``keel watch --env local`` view)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.slo.samples import Sample


class RouterMetrics(Protocol):
    """The part of LocalPlatform this target reads."""

    async def revisions(self) -> Sequence[Any]: ...

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow: ...


class RouterTarget:
    """Each sample adds every revision's window since the previous sample to running totals, so counters
    only grow (a new revision or a rollback is not a counter reset) and the rules see the whole service."""

    def __init__(
        self,
        platform: RouterMetrics,
        ready_url: str,
        *,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import httpx

        self._platform = platform
        self._ready_url = ready_url
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=timeout)
        self._last: float | None = None
        self._requests = 0.0
        self._errors = 0.0
        self._latency: LatencyHistogram | None = None

    async def sample(self) -> Sample:
        import httpx

        from keel.errors import KeelError

        now = self._clock()
        try:
            ready: bool | None = (await self._client.get(self._ready_url)).status_code < 500
        except httpx.HTTPError:
            ready = None
        try:
            names = [r.name for r in await self._platform.revisions()]
            start = self._last if self._last is not None else now
            for name in names:
                window = await self._platform.window(name, start, now)
                self._requests += window.requests
                self._errors += window.errors
                if self._latency is None:
                    self._latency = window.latency
                elif self._latency.bounds == window.latency.bounds:
                    self._latency = self._latency.plus(window.latency)
        except KeelError:  # the router is down: counters unknown, not zero
            return Sample(now, ready=None, scraped=False)
        self._last = now
        latency = self._latency or LatencyHistogram((float("inf"),), (0,))
        return Sample(now, self._requests, self._errors, latency, {}, ready)

    async def aclose(self) -> None:
        await self._client.aclose()
