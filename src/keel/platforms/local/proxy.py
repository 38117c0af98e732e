"""The router's data path: asyncio Protocols for client and revision connections, one exchange at a time.

A client connection buffers one whole request (head and body), hands it to the router, and parses the next
one when the answer is complete (keep-alive, pipelining). A revision connection relays the answer to the
client as it arrives, by Content-Length, chunks, or until close, and goes back to its revision's pool when
it may be reused. Protocols instead of streams: no task, future or extra copy per request on the hot path.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, cast

from keel.platforms.local.http1 import (
    HEAD_END,
    MAX_BODY,
    MAX_HEAD,
    BadMessage,
    RequestHead,
    chunked_end,
    parse_request_head,
    parse_response_head,
    simple_response,
)
from keel.platforms.local.metrics import UPSTREAM_FAILED

if TYPE_CHECKING:
    from keel.platforms.local.router import Router

CLIENT_CLOSED = 499  # recorded when the client left before its answer (not the revision's fault)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class ClientConnection(asyncio.Protocol):
    """One user connection to the router."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.exchange: Exchange | None = None
        self.closed = False
        self.continued = False
        self.reading_paused = False
        self.paused_upstream: UpstreamConnection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self.router.clients.add(self)

    def data_received(self, data: bytes) -> None:
        if self.exchange is None and not self.buffer:
            # The common case: one whole request (no body, or a Content-Length body) in one read; no
            # buffering, no copies.
            end = data.find(HEAD_END) + 4
            if end > 3:
                try:
                    request = parse_request_head(data if end == len(data) else data[:end])
                except BadMessage as exc:
                    self.reply(simple_response(400, "Bad Request", str(exc), False))
                    return
                if not request.chunked and end + request.content_length == len(data):
                    if not self.closed:
                        self.router.dispatch(self, request, data)
                    return
        self.buffer += data
        if self.exchange is None:
            self.next_request()
        elif len(self.buffer) > MAX_HEAD + MAX_BODY and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()  # a pipelining client waits for its earlier answers

    def next_request(self) -> None:
        buffer = self.buffer
        transport = self.transport
        if transport is None or self.closed:
            return
        end = buffer.find(HEAD_END)
        if end < 0:
            if len(buffer) > MAX_HEAD:
                self.reply(simple_response(431, "Request Header Fields Too Large", "head too large", False))
            return
        head_end = end + 4
        try:
            request = parse_request_head(bytes(buffer[:head_end]))
            body_end = chunked_end(buffer, head_end) if request.chunked else head_end + request.content_length
        except BadMessage as exc:
            self.reply(simple_response(400, "Bad Request", str(exc), False))
            return
        if body_end is None or body_end > len(buffer):
            if request.expect_continue and not self.continued:
                self.continued = True
                transport.write(_CONTINUE)
            return
        message = bytes(buffer[:body_end])
        del buffer[:body_end]
        self.continued = False
        if self.reading_paused:
            self.reading_paused = False
            transport.resume_reading()
        self.router.dispatch(self, request, message)

    def reply(self, data: bytes, keep_alive: bool = False) -> None:
        """A canned answer from the router itself (errors); closes unless ``keep_alive``."""
        if self.transport is not None and not self.closed:
            self.transport.write(data)
            if not keep_alive:
                self.close()

    def finished(self, keep_alive: bool) -> None:
        """The current exchange is over: read the next request, or close."""
        self.exchange = None
        if not keep_alive:
            self.close()
        elif self.buffer:
            self.next_request()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.router.clients.discard(self)
        if self.exchange is not None:
            self.exchange.client_gone()

    def pause_writing(self) -> None:
        if self.exchange is not None and self.exchange.upstream is not None:
            self.paused_upstream = self.exchange.upstream
            self.paused_upstream.pause()

    def resume_writing(self) -> None:
        if self.paused_upstream is not None:
            self.paused_upstream.resume()
            self.paused_upstream = None


class Exchange:
    """One request on its way to one revision and its answer on the way back."""

    __slots__ = (
        "address",
        "client",
        "head_seen",
        "message",
        "request",
        "retried",
        "revision",
        "router",
        "started",
        "status",
        "upstream",
    )

    def __init__(
        self,
        router: Router,
        client: ClientConnection,
        request: RequestHead,
        message: bytes,
        revision: str,
        address: tuple[str, int],
    ) -> None:
        self.router = router
        self.client = client
        self.request = request
        self.message = message
        self.revision = revision
        self.address = address
        self.started = time.perf_counter()
        self.status = 0
        self.head_seen = False
        self.retried = False
        self.upstream: UpstreamConnection | None = None

    def send(self, upstream: UpstreamConnection) -> None:
        self.upstream = upstream
        self.router.waiting[self] = None  # until the answer's head: the router's sweep times it out
        upstream.begin(self)

    def timed_out(self) -> None:
        if self.upstream is not None:
            self.upstream.abort()
        self.fail(retry=False)

    def fail(self, retry: bool) -> None:
        """The revision gave no complete answer. Before any byte of it: retry once on a fresh connection if
        the failed one came from the pool (it may have been closed by the revision meanwhile), else 502."""
        self.upstream = None
        if retry and not self.retried and not self.head_seen and not self.client.closed:
            self.retried = True
            self.router.connect(self)
            return
        self.done(UPSTREAM_FAILED)
        if self.head_seen:
            self.client.close()  # part of the answer went out: closing is the only honest signal left
        else:
            message = f"revision {self.revision} did not answer"
            self.client.reply(simple_response(502, "Bad Gateway", message, self.request.keep_alive), True)
            self.client.finished(self.request.keep_alive)

    def client_gone(self) -> None:
        if self.upstream is not None:
            self.upstream.abort()
        self.done(self.status if self.head_seen else CLIENT_CLOSED)

    def done(self, status: int) -> None:
        self.router.waiting.pop(self, None)
        if self.status >= 0:
            self.router.metrics.record(self.revision, status, time.perf_counter() - self.started)
            self.status = -1  # recorded once, whatever happens next


class UpstreamConnection(asyncio.Protocol):
    """One connection to a revision; relays one answer at a time to the exchange's client."""

    def __init__(self, router: Router, revision: str, address: tuple[str, int]) -> None:
        self.router = router
        self.revision = revision
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.exchange: Exchange | None = None
        self.buffer = bytearray()
        self.reused = False
        self.received = False
        self.mode = ""  # "", "length", "chunked", "close"
        self.remaining = 0
        self.keep_alive = False
        self.closed = False
        self.paused = False
        self.header = router.revision_header(revision)  # "x-keel-revision: <name>" CRLF CRLF

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def begin(self, exchange: Exchange) -> None:
        self.exchange = exchange
        if self.buffer:
            self.buffer.clear()
        self.received = False
        self.mode = ""
        if self.paused:  # paused for a slow client of the previous answer
            self.resume()
        assert self.transport is not None
        self.transport.write(exchange.message)

    def pause(self) -> None:
        if self.transport is not None and not self.closed:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()

    def abort(self) -> None:
        self.exchange = None
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:  # an idle connection should not talk: it is no longer trusted
            self.close()
            return
        self.received = True
        if not self.mode:
            if self.buffer:
                self.buffer += data
                data = bytes(self.buffer)
                self.buffer.clear()
            self._head(exchange, data)
        elif self.mode == "length":
            self._length(exchange, data)
        elif self.mode == "chunked":
            self.buffer += data
            self._chunked(exchange)
        else:
            self._write(exchange, data)

    def _write(self, exchange: Exchange, data: bytes) -> None:
        transport = exchange.client.transport
        if transport is not None and not exchange.client.closed:
            transport.write(data)

    def _head(self, exchange: Exchange, data: bytes) -> None:
        """Parse the answer's head from ``data`` (all that arrived so far) and relay what follows it."""
        start = 0
        while True:
            end = data.find(HEAD_END, start)
            if end < 0:
                if len(data) - start > MAX_HEAD:
                    self._broken(exchange)
                else:
                    self.buffer += data[start:]  # wait for the rest of the head
                return
            if data.startswith(b"1", start + 9) and not data.startswith(b"101", start + 9):
                start = end + 4  # interim answers (100 Continue): not relayed
                continue
            break
        if start:
            data = data[start:]
            end -= start
        body = end + 4
        try:
            response = parse_response_head(data if body == len(data) else data[:body])
        except BadMessage:
            self._broken(exchange)
            return
        status = exchange.status = response.status
        exchange.head_seen = True
        self.router.waiting.pop(exchange, None)
        keep_alive = self.keep_alive = response.keep_alive
        # The head up to its last header line, the revision's header line and the empty line, the body.
        head = data[: end + 2] + self.header
        rest = len(data) - body
        length = response.content_length
        if status < 200 or status in (204, 304) or exchange.request.method == b"HEAD":
            self._write(exchange, head)
            self._complete(exchange, keep_alive and not rest)
        elif length is not None:
            if rest == length:  # the common case: the whole answer in one read
                client = exchange.client
                if not client.closed and client.transport is not None:
                    client.transport.write(head + data[body:] if rest else head)
                self._complete(exchange, keep_alive)
            elif rest > length:
                self._write(exchange, head + data[body : body + length])
                self._complete(exchange, False)
            else:
                self.mode = "length"
                self.remaining = length - rest
                self._write(exchange, head + data[body:])
        elif response.chunked:
            self.mode = "chunked"
            self._write(exchange, head)
            self.buffer += data[body:]
            self._chunked(exchange)
        else:  # delimited by close: the client learns the end the same way
            self.mode = "close"
            self.keep_alive = False
            self._write(exchange, head + data[body:])

    def _length(self, exchange: Exchange, data: bytes) -> None:
        if len(data) < self.remaining:
            self.remaining -= len(data)
            self._write(exchange, data)
            return
        self._write(exchange, data[: self.remaining])
        extra = len(data) > self.remaining
        self.remaining = 0
        self._complete(exchange, self.keep_alive and not extra)

    def _chunked(self, exchange: Exchange) -> None:
        try:
            end = chunked_end(self.buffer, 0)
        except BadMessage:
            self._broken(exchange)
            return
        if end is None:
            return
        self._write(exchange, bytes(self.buffer[:end]))
        extra = len(self.buffer) > end
        self.buffer.clear()
        self._complete(exchange, self.keep_alive and not extra)

    def _complete(self, exchange: Exchange, reusable: bool) -> None:
        self.exchange = None
        self.mode = ""
        exchange.upstream = None
        if exchange.status >= 0:  # Exchange.done, less the timeout bookkeeping that the head ended
            self.router.metrics.record(
                exchange.revision, exchange.status, time.perf_counter() - exchange.started
            )
            exchange.status = -1
        client = exchange.client
        client.paused_upstream = None
        keep_client = exchange.request.keep_alive and self.keep_alive
        if reusable and not self.closed:
            self.reused = True
            self.router.release(self)
        else:
            self.close()
        client.finished(keep_client)

    def _broken(self, exchange: Exchange) -> None:
        self.exchange = None
        self.close()
        exchange.fail(retry=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.router.discard(self)
        exchange = self.exchange
        if exchange is None:
            return
        self.exchange = None
        if self.mode == "close":
            self._write(exchange, bytes(self.buffer))
            exchange.upstream = None
            exchange.done(exchange.status)
            exchange.client.finished(False)
        elif self.mode:
            exchange.fail(retry=False)
        else:
            exchange.fail(retry=self.reused and not self.received)
