"""The traffic router: an asyncio HTTP/1.1 reverse proxy that splits requests among revisions by weight.

Each request picks its revision once, from the routing table in force when it arrived, and finishes there:
changing weights swaps the table (one assignment) and never touches requests in flight. Connections to
revisions are kept alive in a small pool per revision. Every request is recorded in ``RouterMetrics``.
The data path (Protocols, framing, relaying) lives in ``proxy.py``.
"""

from __future__ import annotations

import asyncio
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from keel.platforms.local.http1 import RequestHead, simple_response
from keel.platforms.local.metrics import RouterMetrics
from keel.platforms.local.proxy import ClientConnection, Exchange, UpstreamConnection

REVISION_HEADER = b"x-keel-revision"
_IDLE_PER_REVISION = 256


@dataclass(frozen=True)
class RoutingTable:
    """Revisions with non-zero weight, their cumulative weights and addresses. Replaced, never changed."""

    names: tuple[str, ...] = ()
    cumulative: tuple[int, ...] = ()
    addresses: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def build(cls, weights: Mapping[str, int], addresses: Mapping[str, tuple[str, int]]) -> RoutingTable:
        names: list[str] = []
        cumulative: list[int] = []
        total = 0
        for name, weight in sorted(weights.items()):
            if weight <= 0:
                continue
            if name not in addresses:
                raise ValueError(f"revision {name} has no address")
            total += weight
            names.append(name)
            cumulative.append(total)
        if names and total != 100:
            raise ValueError(f"traffic weights add up to {total}, not 100")
        return cls(tuple(names), tuple(cumulative), dict(addresses))

    @property
    def weights(self) -> dict[str, int]:
        previous = 0
        result: dict[str, int] = {}
        for name, upto in zip(self.names, self.cumulative, strict=True):
            result[name] = upto - previous
            previous = upto
        return result

    def choose(self, draw: float) -> str:
        """The revision for a uniform draw in [0, 1)."""
        return self.names[bisect_right(self.cumulative, draw * 100)]


class Router:
    """Serves user traffic on one port; ``route()`` changes where it goes, atomically."""

    def __init__(
        self,
        metrics: RouterMetrics,
        random_draw: Callable[[], float] = random.random,
        upstream_timeout: float = 300.0,
    ) -> None:
        self.metrics = metrics
        self.upstream_timeout = upstream_timeout
        self.clients: set[ClientConnection] = set()
        self._draw = random_draw
        self._table = RoutingTable()
        self._idle: dict[str, list[UpstreamConnection]] = {}
        self._headers: dict[str, bytes] = {}
        self._server: asyncio.Server | None = None
        self._connecting: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # Exchanges sent and not yet answered (a head), oldest first: swept for the upstream timeout once a
        # second, cheaper than a timer per request.
        self.waiting: dict[Exchange, None] = {}

    @property
    def table(self) -> RoutingTable:
        return self._table

    def route(self, weights: Mapping[str, int], addresses: Mapping[str, tuple[str, int]]) -> RoutingTable:
        """Send new requests by ``weights``; requests already under way finish where they are."""
        table = RoutingTable.build(weights, addresses)
        old = self._table
        self._table = table
        for name, address in old.addresses.items():
            if table.addresses.get(name) != address:
                self.forget(name)
        return table

    def forget(self, revision: str) -> None:
        """Close the idle connections to a revision (removed, or restarted elsewhere)."""
        for conn in self._idle.pop(revision, []):
            conn.close()

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ClientConnection(self), host, port, reuse_address=True, backlog=2048
        )
        self._sweeper = loop.create_task(self._sweep())
        return int(self._server.sockets[0].getsockname()[1])

    async def _sweep(self, period: float = 1.0) -> None:
        while True:
            await asyncio.sleep(min(period, self.upstream_timeout))
            deadline = time.perf_counter() - self.upstream_timeout
            expired = []
            for exchange in self.waiting:  # insertion order: the oldest first
                if exchange.started > deadline:
                    break
                expired.append(exchange)
            for exchange in expired:
                exchange.timed_out()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for client in list(self.clients):
            client.close()
        for name in list(self._idle):
            self.forget(name)

    # -- called by the data path ---------------------------------------------------------------------------
    def revision_header(self, revision: str) -> bytes:
        header = self._headers.get(revision)
        if header is None:
            header = self._headers[revision] = REVISION_HEADER + b": " + revision.encode() + b"\r\n\r\n"
        return header

    def dispatch(self, client: ClientConnection, request: RequestHead, message: bytes) -> None:
        table = self._table
        if not table.names:
            keep = request.keep_alive
            client.reply(
                simple_response(503, "Service Unavailable", "no revision serves traffic", keep), keep
            )
            client.finished(keep)
            return
        names = table.names
        revision = names[0] if len(names) == 1 else table.choose(self._draw())
        address = table.addresses[revision]
        exchange = client.exchange = Exchange(self, client, request, message, revision, address)
        idle = self._idle.get(revision)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.address == address:
                exchange.send(conn)
                return
            conn.close()
        self.connect(exchange)

    def connect(self, exchange: Exchange) -> None:
        task = asyncio.get_running_loop().create_task(self._open(exchange))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _open(self, exchange: Exchange) -> None:
        loop = asyncio.get_running_loop()
        revision, address = exchange.revision, exchange.address
        try:
            _, conn = await loop.create_connection(
                lambda: UpstreamConnection(self, revision, address), address[0], address[1]
            )
        except OSError:
            exchange.fail(retry=False)
            return
        if exchange.client.closed or exchange.status < 0:  # the client left while we connected
            conn.close()
            return
        exchange.send(conn)

    def release(self, conn: UpstreamConnection) -> None:
        """A connection whose answer is complete: pooled while its revision keeps that address."""
        idle = self._idle.setdefault(conn.revision, [])
        if self._table.addresses.get(conn.revision) == conn.address and len(idle) < _IDLE_PER_REVISION:
            idle.append(conn)
        else:
            conn.close()

    def discard(self, conn: UpstreamConnection) -> None:
        idle = self._idle.get(conn.revision)
        if idle and conn in idle:
            idle.remove(conn)
