"""Run a blocking client call off the event loop, and never start a second one while the first hangs."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="keel-health")


class StillRunning(Exception):
    """The previous blocking call of this check has not returned yet (it hangs past its timeout)."""


class BlockingCall:
    """One blocking call at a time per check; a hung call makes later probes fail fast, not pile up."""

    def __init__(self) -> None:
        self._pending: concurrent.futures.Future[object] | None = None

    async def run(self, fn: Callable[[], T]) -> T:
        if self._pending is not None and not self._pending.done():
            raise StillRunning("previous call has not returned yet")
        future = _EXECUTOR.submit(fn)
        self._pending = future  # type: ignore[assignment]
        return await asyncio.wrap_future(future)
