"""TCP check: connect, optionally send a greeting and require the answer to start with given bytes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from keel.health.base import BaseCheck, Observation, Outcome


class TcpCheck(BaseCheck):
    """Healthy when the port accepts (and, with ``expect``, answers as expected)."""

    kind = "tcp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        name: str = "tcp",
        send: bytes = b"",
        expect: bytes = b"",
        component_type: str = "component",
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.send = send
        self.expect = expect
        self.component_type = component_type

    async def probe(self) -> Observation:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            if self.send:
                writer.write(self.send)
                await writer.drain()
            if self.expect:
                answer = await reader.read(len(self.expect))
                if not answer.startswith(self.expect):
                    return Observation(Outcome.FAILED, "unexpected answer")
                return Observation(Outcome.OK, "answered as expected")
            return Observation(Outcome.OK, "connected")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def secrets(self) -> Iterable[str]:
        return (self.host,) if self.host not in ("localhost", "127.0.0.1", "::1") else ()
