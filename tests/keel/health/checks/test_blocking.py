from __future__ import annotations

import asyncio
import threading

import pytest

from keel.health.checks.blocking import BlockingCall, StillRunning


async def test_returns_the_value_off_the_event_loop() -> None:
    call = BlockingCall()
    loop_thread = threading.get_ident()
    assert await call.run(threading.get_ident) != loop_thread
    assert await call.run(lambda: 43) == 43


async def test_a_hung_call_is_not_started_twice() -> None:
    release = threading.Event()
    started = 0

    def hang() -> str:
        nonlocal started
        started += 1
        release.wait(10)
        return "done"

    call = BlockingCall()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(call.run(hang), 0.05)
    with pytest.raises(StillRunning, match="previous call has not returned yet"):
        await call.run(hang)
    release.set()
    for _ in range(100):
        try:
            assert await call.run(lambda: "next") == "next"
            break
        except StillRunning:
            await asyncio.sleep(0.02)
    assert started == 1


async def test_errors_propagate() -> None:
    def boom() -> None:
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        await BlockingCall().run(boom)
