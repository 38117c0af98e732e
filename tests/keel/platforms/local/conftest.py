"""Fixtures of the local platform's tests: in-process revisions (real HTTP on free ports) and the app file."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import uvicorn

from tests.keel.platforms.local.revision_app import make_app

APP_FILE = Path(__file__).with_name("revision_app.py")
# The command of a revision process (the app reads PORT, REVISION, ERROR_RATE, CRASH_AT_START).
APP_COMMAND = (sys.executable, str(APP_FILE))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class InProcessRevision:
    """A revision app served by uvicorn inside the test's event loop."""

    def __init__(self, name: str, port: int, error_rate: float = 0.0) -> None:
        self.name = name
        self.port = port
        self.error_rate = error_rate
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    async def start(self) -> None:
        config = uvicorn.Config(
            make_app(self.name, self.error_rate),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError(f"revision {self.name} did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
        self._server = None


@pytest.fixture
async def revisions() -> AsyncIterator[Callable[..., Awaitable[InProcessRevision]]]:
    started: list[InProcessRevision] = []

    async def start(name: str, error_rate: float = 0.0, port: int | None = None) -> InProcessRevision:
        revision = InProcessRevision(name, port or free_port(), error_rate)
        await revision.start()
        started.append(revision)
        return revision

    yield start
    for revision in started:
        await revision.stop()
