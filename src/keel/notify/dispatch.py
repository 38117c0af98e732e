"""Fan events out to notifiers in the background, each with a short timeout, never in the caller's way."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from keel.notify.base import Event, Notifier


@dataclass(frozen=True)
class Failure:
    channel: str
    kind: str
    message: str


class Dispatcher:
    """``emit`` returns at once: delivery runs as background tasks bounded by ``timeout``. A slow or failing
    channel is recorded in ``failures`` and never delays the rollout (least of all a rollback)."""

    def __init__(self, notifiers: Sequence[Notifier], timeout: float = 3.0) -> None:
        self._notifiers = tuple(notifiers)
        self._timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures: list[Failure] = []
        self.delivered = 0

    def emit(self, event: Event) -> None:
        for notifier in self._notifiers:
            task = asyncio.get_running_loop().create_task(self._deliver(notifier, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, notifier: Notifier, event: Event) -> None:
        try:
            await asyncio.wait_for(notifier.send(event), self._timeout)
            self.delivered += 1
        except TimeoutError:
            self.failures.append(Failure(notifier.name, event.kind, f"timed out after {self._timeout:g}s"))
        except Exception as exc:  # a notifier must never break the caller
            self.failures.append(Failure(notifier.name, event.kind, str(exc) or type(exc).__name__))

    async def aclose(self) -> None:
        """Give pending deliveries their remaining time (each is bounded by the timeout), then close."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._timeout + 0.5)
        for task in list(self._tasks):
            task.cancel()
        for notifier in self._notifiers:
            try:
                await notifier.aclose()
            except Exception as exc:
                self.failures.append(Failure(notifier.name, "close", type(exc).__name__))
