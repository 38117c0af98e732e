"""The router with real HTTP: weighted split, atomic weight changes, in-flight requests, upstream failures."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import uvloop

from keel.platforms.local.metrics import RouterMetrics
from keel.platforms.local.router import Router, RoutingTable
from tests.keel.platforms.local.conftest import InProcessRevision, free_port

StartRevision = Callable[..., Awaitable[InProcessRevision]]

# Overriding event_loop_policy is deprecated in pytest-asyncio 1.x but still the simple way to run a module on
# both loops; its replacement hook would apply to every test in the session.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Overriding the .event_loop_policy. fixture:DeprecationWarning"
)


@pytest.fixture(params=["asyncio", "uvloop"], scope="module")
def event_loop_policy(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoopPolicy:
    """Every router test runs on asyncio's loop and on uvloop (the daemon's)."""
    return uvloop.EventLoopPolicy() if request.param == "uvloop" else asyncio.DefaultEventLoopPolicy()


@pytest.fixture
async def router() -> AsyncIterator[tuple[Router, str]]:
    router = Router(RouterMetrics(time.time), random_draw=random.Random(7).random)
    port = await router.start("127.0.0.1", 0)
    yield router, f"http://127.0.0.1:{port}"
    await router.close()


def test_routing_table_maps_draws_to_weights() -> None:
    table = RoutingTable.build({"b": 90, "a": 10, "c": 0}, {"a": ("h", 1), "b": ("h", 2), "c": ("h", 3)})
    assert table.names == ("a", "b")
    assert table.weights == {"a": 10, "b": 90}
    assert table.choose(0.0) == "a"
    assert table.choose(0.0999) == "a"
    assert table.choose(0.1) == "b"
    assert table.choose(0.9999) == "b"
    with pytest.raises(ValueError, match="add up to 90"):
        RoutingTable.build({"a": 90}, {"a": ("h", 1)})
    with pytest.raises(ValueError, match="no address"):
        RoutingTable.build({"z": 100}, {})


async def test_no_revision_serving_answers_503(router: tuple[Router, str]) -> None:
    async with httpx.AsyncClient(base_url=router[1]) as client:
        response = await client.get("/")
    assert response.status_code == 503


async def test_weights_are_honoured(router: tuple[Router, str], revisions: StartRevision) -> None:
    proxy, url = router
    a, b = await revisions("a"), await revisions("b")
    proxy.route({"a": 80, "b": 20}, {"a": a.address, "b": b.address})
    seen: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(400):
            response = await client.get("/")
            assert response.status_code == 200
            assert response.headers["x-keel-revision"] == response.text  # the router names who answered
            seen[response.text] += 1
    # binomial(400, 0.2): mean 80, sd 8; +-5 sd cannot fail by chance
    assert 40 <= seen["b"] <= 120
    assert seen["a"] + seen["b"] == 400
    assert proxy.metrics.totals("a").requests == seen["a"]
    assert proxy.metrics.totals("b").requests == seen["b"]


async def test_bodies_chunks_heads_and_keep_alive(
    router: tuple[Router, str], revisions: StartRevision
) -> None:
    proxy, url = router
    a = await revisions("a")
    proxy.route({"a": 100}, {"a": a.address})
    payload = bytes(range(256)) * 4096  # 1 MiB: relayed in pieces
    async with httpx.AsyncClient(base_url=url) as client:
        echoed = await client.post("/echo", content=payload)
        assert echoed.content == payload

        async def chunks() -> AsyncIterator[bytes]:
            yield b"hello "
            yield b"chunked"

        echoed_chunked = await client.post("/echo", content=chunks())
        assert echoed_chunked.content == b"hello chunked"
        streamed = await client.get("/chunked")
        assert streamed.text == "part0;part1;part2;part3;part4;"
        head = await client.head("/")
        assert head.status_code == 200 and head.content == b""
        missing = await client.get("/nowhere")
        assert missing.status_code == 404
        for _ in range(20):
            assert (await client.get("/")).status_code == 200
    totals = proxy.metrics.totals("a")
    assert totals.requests == 25 and totals.errors == 0 and totals.statuses[404] == 1


async def test_refused_upstream_is_a_502_counted_as_error(router: tuple[Router, str]) -> None:
    proxy, url = router
    proxy.route({"gone": 100}, {"gone": ("127.0.0.1", free_port())})
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/")
        assert response.status_code == 502
        assert "gone" in response.text
        assert (await client.get("/")).status_code == 502  # the client connection survives
    totals = proxy.metrics.totals("gone")
    assert (totals.requests, totals.errors, totals.statuses) == (2, 2, {502: 2})


async def test_in_flight_request_finishes_on_its_revision(
    router: tuple[Router, str], revisions: StartRevision
) -> None:
    proxy, url = router
    a, b = await revisions("a"), await revisions("b")
    addresses = {"a": a.address, "b": b.address}
    proxy.route({"a": 100}, addresses)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        slow = asyncio.create_task(client.get("/slow", params={"seconds": "1.5"}))
        await asyncio.sleep(0.5)
        proxy.route({"b": 100}, addresses)  # a drops to 0 % while its request is in flight
        fresh = await client.get("/")
        answer = await slow
    assert fresh.text == "b"
    assert answer.status_code == 200 and answer.text == "a slow"


async def test_restarted_revision_stale_pooled_connections_are_retried(
    router: tuple[Router, str], revisions: StartRevision
) -> None:
    proxy, url = router
    a = await revisions("a")
    proxy.route({"a": 100}, {"a": a.address})
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/")).status_code == 200  # leaves a pooled upstream connection
        await a.stop()
        await revisions("a", port=a.port)  # same address, new process: the pooled connection is dead
        response = await client.get("/")
    assert response.status_code == 200
    assert proxy.metrics.totals("a").errors == 0


async def test_no_request_fails_while_weights_change(
    router: tuple[Router, str], revisions: StartRevision
) -> None:
    proxy, url = router
    a, b = await revisions("a"), await revisions("b")
    addresses = {"a": a.address, "b": b.address}
    splits = [{"a": 100}, {"a": 90, "b": 10}, {"a": 50, "b": 50}, {"b": 100}, {"a": 100}]
    proxy.route(splits[0], addresses)
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()

    async def load() -> None:
        async with httpx.AsyncClient(base_url=url) as client:
            while not stop.is_set():
                statuses[(await client.get("/")).status_code] += 1

    workers = [asyncio.create_task(load()) for _ in range(4)]
    for i in range(40):
        proxy.route(splits[i % len(splits)], addresses)
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.gather(*workers)
    assert statuses[200] > 20
    assert set(statuses) == {200}


async def test_large_answer_to_a_slow_client_arrives_whole(
    router: tuple[Router, str], revisions: StartRevision
) -> None:
    proxy, url = router
    a = await revisions("a")
    proxy.route({"a": 100}, {"a": a.address})
    payload = b"z" * (8 * 1024 * 1024)
    port = int(url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
    writer.write(head + payload)
    await writer.drain()
    await asyncio.sleep(0.5)  # not reading: the router must hold the revision back, not drop or hang
    answer_head = await reader.readuntil(b"\r\n\r\n")
    assert b" 200 " in answer_head.split(b"\r\n")[0]
    body = await reader.readexactly(len(payload))
    assert body == payload
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connections serve the next request
    await writer.drain()
    next_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert b" 200 " in next_head.split(b"\r\n")[0]
    writer.close()


async def test_a_revision_that_never_answers_times_out_as_502(revisions: StartRevision) -> None:
    proxy = Router(RouterMetrics(time.time), upstream_timeout=0.3)
    port = await proxy.start("127.0.0.1", 0)
    a = await revisions("a")
    proxy.route({"a": 100}, {"a": a.address})
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            response = await client.get("/slow", params={"seconds": "1.5"})
            assert response.status_code == 502
            assert (await client.get("/")).status_code == 200  # the client connection is still good
    finally:
        await proxy.close()
    totals = proxy.metrics.totals("a")
    assert totals.statuses == {502: 1, 200: 1} and totals.errors == 1
    assert not proxy.waiting


async def test_pipelined_requests_are_answered_in_order(
    router: tuple[Router, str], revisions: StartRevision
) -> None:
    proxy, url = router
    a = await revisions("a")
    proxy.route({"a": 100}, {"a": a.address})
    reader, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    writer.write(
        b"GET /slow?seconds=0.2 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    answers = (await asyncio.wait_for(reader.read(), 30)).split(b"HTTP/1.1 ")[1:]
    writer.close()
    assert [x.split(b" ", 1)[0] for x in answers] == [b"200", b"200", b"404"]
    assert answers[0].endswith(b"a slow") and answers[1].endswith(b"hello")


async def test_request_bodies_in_one_read_or_in_pieces_arrive_whole(
    router: tuple[Router, str], revisions: StartRevision
) -> None:
    proxy, url = router
    a = await revisions("a")
    proxy.route({"a": 100}, {"a": a.address})
    reader, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
    writer.write(head + b"first")  # head and body in one read: the no-buffer path
    await writer.drain()
    first = await asyncio.wait_for(reader.readuntil(b"first"), 30)
    writer.write(head + b"sec")  # the body's end comes later: buffered until complete
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.write(b"on")
    await writer.drain()
    second = await asyncio.wait_for(reader.readuntil(b"secon"), 30)
    writer.close()
    assert first.startswith(b"HTTP/1.1 200 ") and b"\r\nx-keel-revision: a\r\n" in first
    assert second.startswith(b"HTTP/1.1 200 ")
    assert proxy.metrics.totals("a").statuses == {200: 2}
