from __future__ import annotations

import asyncio

from keel.health.base import Outcome, Status
from keel.health.checks import TcpCheck
from keel.health.registry import Health
from tests.keel.health.servers import free_port, silent_listener


async def test_accepting_port_is_healthy() -> None:
    async with silent_listener() as port:
        observation = await TcpCheck("127.0.0.1", port).probe()
    assert (observation.outcome, observation.message) == (Outcome.OK, "connected")


async def test_greeting_and_expected_answer() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(100)
        writer.write(b"+PONG\r\n" if data == b"PING\r\n" else b"-ERR\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        good = await TcpCheck("127.0.0.1", port, send=b"PING\r\n", expect=b"+PONG").probe()
        bad = await TcpCheck("127.0.0.1", port, send=b"HELLO\r\n", expect=b"+PONG").probe()
    finally:
        server.close()
    assert (good.outcome, good.message) == (Outcome.OK, "answered as expected")
    assert (bad.outcome, bad.message) == (Outcome.FAILED, "unexpected answer")


async def test_a_listener_that_never_replies_times_out() -> None:
    async with silent_listener() as port:
        check = TcpCheck("127.0.0.1", port, send=b"PING\r\n", expect=b"+PONG", name="queue")
        report = await Health().add(check, critical=True, timeout=0.2).deep()
    assert report.results[0].status is Status.UNHEALTHY
    assert report.results[0].message == "timed out after 0.2 s"


async def test_refused_port() -> None:
    report = await Health().add(TcpCheck("127.0.0.1", free_port()), critical=True).deep()
    assert report.results[0].status is Status.UNHEALTHY
    assert "ConnectionRefusedError" in report.results[0].message


def test_only_non_loopback_hosts_are_secrets() -> None:
    assert list(TcpCheck("127.0.0.1", 1).secrets()) == []
    assert list(TcpCheck("queue-0.internal", 1).secrets()) == ["queue-0.internal"]
