"""Fixtures of the smoke tests: a misbehaving local server and a port nobody listens on."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from tests.keel.smoke.misbehaving import MisbehavingServer


@pytest.fixture
async def server() -> AsyncIterator[MisbehavingServer]:
    srv = await MisbehavingServer().start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
def closed_port() -> int:
    """A port the OS just handed out and nobody listens on any more."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
