"""Redis: the real redis-py client against a loopback server speaking RESP (PING, AUTH, CLIENT)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from keel.health.base import Outcome, Status
from keel.health.checks import RedisCheck
from keel.health.registry import Health
from tests.keel.health.servers import free_port, silent_listener

PASSWORD = "Redis-Planted-Secret-31"
HELLO_REPLY = b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:3\r\n"


async def read_command(reader: asyncio.StreamReader) -> list[str]:
    header = await reader.readline()
    if not header:
        return []
    assert header.startswith(b"*")
    args = []
    for _ in range(int(header[1:])):
        length = int((await reader.readline())[1:])
        args.append((await reader.readexactly(length + 2))[:-2].decode())
    return args


@asynccontextmanager
async def resp_server(pong: bytes = b"+PONG\r\n") -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while args := await read_command(reader):
            command = args[0].upper()
            if command == "PING":
                writer.write(pong)
            elif "AUTH" in (a.upper() for a in args) and args[-1] != PASSWORD:  # AUTH or HELLO 3 AUTH
                writer.write(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
            elif command == "HELLO":  # RESP3 handshake, as redis-py 8 sends it
                writer.write(HELLO_REPLY)
            else:
                writer.write(b"+OK\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


async def test_ping_pong() -> None:
    async with resp_server() as port:
        check = RedisCheck(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
        observation = await check.probe()
        assert (observation.outcome, observation.message) == (Outcome.OK, "PONG")
        assert (await check.probe()).outcome is Outcome.OK  # the pooled client is reused
        await check.aclose()
        await check.aclose()


async def test_unexpected_answer_fails() -> None:
    async with resp_server(pong=b"+NOPE\r\n") as port:
        check = RedisCheck(f"redis://127.0.0.1:{port}/0")
        assert (await check.probe()).outcome is Outcome.FAILED
        await check.aclose()


async def run(url: str, caplog: pytest.LogCaptureFixture) -> str:
    health = Health().add(RedisCheck(url, socket_timeout=0.3), critical=True, timeout=3)
    report = await health.deep()
    await health.stop()
    result = report.results[0]
    assert result.status is Status.UNHEALTHY
    for leaked in (PASSWORD, url):
        assert leaked not in result.message
        assert all(leaked not in m for m in caplog.messages)
    return result.message


async def test_wrong_password_is_reported_without_it(caplog: pytest.LogCaptureFixture) -> None:
    async with resp_server() as port:
        message = await run(f"redis://default:wrong-{PASSWORD}@127.0.0.1:{port}/0", caplog)
    assert message.startswith("AuthenticationError")


async def test_refused(caplog: pytest.LogCaptureFixture) -> None:
    message = await run(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0", caplog)
    assert "ConnectionError" in message


async def test_server_that_never_answers(caplog: pytest.LogCaptureFixture) -> None:
    async with silent_listener() as port:
        message = await run(f"redis://:{PASSWORD}@127.0.0.1:{port}/0", caplog)
    assert "Timeout" in message or "timed out" in message
