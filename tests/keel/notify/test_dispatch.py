"""The dispatcher never makes its caller wait: slow and failing channels are bounded and recorded."""

from __future__ import annotations

import asyncio
import time

from keel.notify.base import Event
from keel.notify.dispatch import Dispatcher
from keel.notify.noop import NoopNotifier
from keel.notify.webhook import WebhookNotifier
from tests.keel.notify.server import receiver

EVENT = Event("rolling_back", "Rolling back", "analysis failed")


class Hanging:
    name = "hanging"

    async def send(self, event: Event) -> None:
        await asyncio.sleep(3600)

    async def aclose(self) -> None:
        return None


class Broken:
    name = "broken"

    async def send(self, event: Event) -> None:
        raise RuntimeError("boom")

    async def aclose(self) -> None:
        raise RuntimeError("close boom")


async def test_emit_returns_at_once_and_failures_are_contained() -> None:
    noop = NoopNotifier()
    dispatcher = Dispatcher([Hanging(), Broken(), noop], timeout=0.3)
    start = time.perf_counter()
    dispatcher.emit(EVENT)
    emitted = time.perf_counter() - start
    assert emitted < 0.1  # generous: emit only schedules tasks
    await dispatcher.aclose()
    assert noop.sent == 1
    assert {(f.channel, f.message) for f in dispatcher.failures} == {
        ("hanging", "timed out after 0.3s"), ("broken", "boom"), ("broken", "RuntimeError"),
    }  # fmt: skip


async def test_a_slow_real_webhook_does_not_delay_the_caller() -> None:
    with receiver() as (url, recorder):
        recorder.delay = 1.0
        dispatcher = Dispatcher([WebhookNotifier({"url_env": "H"}, environ={"H": url})], timeout=0.2)
        start = time.perf_counter()
        for _ in range(5):
            dispatcher.emit(EVENT)
        assert time.perf_counter() - start < 0.1
        await dispatcher.aclose()
    assert len(dispatcher.failures) == 5
