"""Steady synthetic traffic: a fixed request rate spread over a few paths, with counts of every outcome.

The generator runs on its own thread with its own event loop. The process that drives it (``keel demo``)
also runs the rollout on its event loop, which blocks now and then (importing the analysis libraries, building
a TLS context per probe): on a shared loop those stalls were measured as seconds of "service latency" that
the service never had (benchmarks/router/deploy_spike.py).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from keel.analysis.base import LatencyHistogram
from keel.platforms.local.http1 import HEAD_END, BadMessage, parse_response_head, response_has_body
from keel.types import Clock

# Latency buckets (seconds) of the per-second series: enough resolution for a p95 chart, 15 ints a second.
LATENCY_BOUNDS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, math.inf,
)  # fmt: skip
MAX_SECONDS = 3600  # the per-second series keeps at most this many seconds (the latest)


@dataclass
class SecondBucket:
    """What finished in one second: requests, errors (5xx and transport errors) and latency bucket counts."""

    requests: int = 0
    errors: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BOUNDS))


@dataclass
class LoadStats:
    """Outcomes by kind: an HTTP status code ("200", "500") or a transport error ("ConnectError"), and a
    bounded per-second series (``seconds``: index = whole seconds since the start) for charts. Safe to read
    from another thread while the generator records."""

    outcomes: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    stopped: float = 0.0
    seconds: dict[int, SecondBucket] = field(default_factory=dict)
    max_seconds: int = MAX_SECONDS
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, second: int, outcome: str, latency: float) -> None:
        """Count one finished request ``latency`` seconds long, in whole second ``second`` of the run."""
        with self._lock:
            self.outcomes[outcome] += 1
            bucket = self.seconds.get(second)
            if bucket is None:
                bucket = self.seconds[second] = SecondBucket()
                while len(self.seconds) > self.max_seconds:  # bounded: forget the oldest second
                    del self.seconds[min(self.seconds)]
            bucket.requests += 1
            if not outcome.isdigit() or int(outcome) >= 500:
                bucket.errors += 1
            bucket.latency[bisect.bisect_left(LATENCY_BOUNDS, latency)] += 1

    def timeline(self) -> dict[str, Any]:
        """The per-second series: requests, errors and p95 latency (ms; None in a second with no requests),
        from the first to the last recorded second, with empty seconds in between filled in."""
        with self._lock:
            seconds = {
                s: SecondBucket(b.requests, b.errors, list(b.latency)) for s, b in self.seconds.items()
            }
        if not seconds:
            return {"bucket_s": 1, "first_s": 0, "requests": [], "errors": [], "p95_ms": []}
        first, last = min(seconds), max(seconds)
        requests, errors, p95 = [], [], []
        for second in range(first, last + 1):
            bucket = seconds.get(second, SecondBucket())
            requests.append(bucket.requests)
            errors.append(bucket.errors)
            value = LatencyHistogram(LATENCY_BOUNDS, tuple(bucket.latency)).quantile(0.95)
            p95.append(None if value is None else round(value * 1000.0, 1))
        return {"bucket_s": 1, "first_s": first, "requests": requests, "errors": errors, "p95_ms": p95}

    def _outcomes(self) -> dict[str, int]:
        with self._lock:
            return dict(self.outcomes)

    @property
    def total(self) -> int:
        return sum(self._outcomes().values())

    @property
    def transport_errors(self) -> int:
        return sum(n for kind, n in self._outcomes().items() if not kind.isdigit())

    @property
    def server_errors(self) -> int:
        return sum(n for kind, n in self._outcomes().items() if kind.isdigit() and int(kind) >= 500)

    def to_json(self) -> dict[str, object]:
        return {
            "requests": self.total,
            "outcomes": dict(sorted(self._outcomes().items())),
            "server_errors": self.server_errors,
            "transport_errors": self.transport_errors,
            "seconds": round(self.stopped - self.started, 3) if self.stopped else None,
            "timeline": self.timeline(),
        }


class TransportError(Exception):
    """A request that got no complete answer; its class name is the outcome (like httpx's error names)."""


class ConnectError(TransportError):
    pass


class ReadTimeout(TransportError):
    pass


class RemoteProtocolError(TransportError):
    pass


_MALFORMED = (BadMessage, ValueError, asyncio.LimitOverrunError)


class _Http1Client:
    """GET over keep-alive HTTP/1.1 connections to one host: a lean client, so that the synthetic traffic's
    latency is the service's and not the client's CPU (httpx spends ~4 ms of CPU a request, a few times the
    router's whole cost, and a CPU-starved client queues its own requests)."""

    def __init__(self, base_url: str, timeout: float, max_idle: int = 16) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"load generator: {base_url!r} is not an http:// URL")
        self.host = url.hostname
        self.port = url.port or 80
        self.prefix = url.path.rstrip("/")
        self.timeout = timeout
        self.max_idle = max_idle
        self._host_header = url.netloc.encode()
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        """The status of ``GET path`` (body read and dropped); raises a ``TransportError`` otherwise."""
        request = b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % ((self.prefix + path).encode(), self._host_header)
        try:
            async with asyncio.timeout(self.timeout):
                while (
                    self._idle
                ):  # a kept-alive connection the server may have closed meanwhile: try the next
                    reader, writer = self._idle.pop()
                    try:
                        return await self._exchange(reader, writer, request)
                    except (ConnectionError, asyncio.IncompleteReadError) as exc:
                        writer.close()
                        if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                            raise RemoteProtocolError("answer cut short") from exc
                    except _MALFORMED as exc:
                        writer.close()
                        raise RemoteProtocolError(str(exc) or type(exc).__name__) from exc
                try:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                except OSError as exc:
                    raise ConnectError(str(exc)) from exc
                try:
                    return await self._exchange(reader, writer, request)
                except (ConnectionError, asyncio.IncompleteReadError, *_MALFORMED) as exc:
                    writer.close()
                    raise RemoteProtocolError(str(exc) or type(exc).__name__) from exc
        except TimeoutError as exc:
            raise ReadTimeout(f"no answer within {self.timeout:g}s") from exc

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> int:
        writer.write(request)
        while True:
            head = parse_response_head(await reader.readuntil(HEAD_END))
            if head.status >= 200:
                break  # 1xx: an interim answer, the real one follows
        if head.chunked:
            while size := int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16):
                await reader.readexactly(size + 2)
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
        elif head.content_length is not None:
            await reader.readexactly(head.content_length)
        elif response_has_body(b"GET", head.status):
            await reader.read()  # delimited by the close
            head = head._replace(keep_alive=False)
        if head.keep_alive and len(self._idle) < self.max_idle:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return head.status

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


class LoadGenerator:
    """Sends ``rate`` requests per second (open loop: a slow answer does not slow the schedule) until stopped,
    from its own thread and event loop, so the caller's event loop cannot delay or stretch the requests."""

    def __init__(
        self,
        base_url: str,
        paths: Sequence[str] = ("/api/v1/content?limit=5", "/api/v1/", "/api/v1/live?limit=5"),
        rate: float = 40.0,
        timeout: float = 10.0,
        clock: Clock = time.monotonic,
        max_in_flight: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.paths = tuple(paths)
        self.rate = rate
        self.timeout = timeout
        self.stats = LoadStats()
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._client = _Http1Client(self.base_url, timeout)  # refuses a URL it cannot serve, here
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._stop_requested = False
        self._t0 = 0.0

    async def __aenter__(self) -> LoadGenerator:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        if self._thread is not None:
            return
        self.stats.started = time.time()
        self._t0 = self._clock()
        self._thread = threading.Thread(target=self._thread_main, name="keel-loadgen", daemon=True)
        self._thread.start()
        self._started.wait()

    async def stop(self) -> LoadStats:
        """Stop sending, wait for the requests in flight (each within ``timeout``), and return the stats."""
        thread = self._thread
        if thread is not None:
            self._request_stop()
            await asyncio.to_thread(thread.join)
            self._thread = None
        self.stats.stopped = time.time()
        return self.stats

    def _request_stop(self) -> None:
        self._stop_requested = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: the thread is ending anyway
                loop.call_soon_threadsafe(stopping.set)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._run())
        finally:
            self._started.set()  # never leave start() waiting, even when the loop failed to start

    async def _one(self, client: _Http1Client, limit: asyncio.Semaphore, path: str) -> None:
        began = self._clock()
        try:
            outcome = str(await client.get(path))
        except TransportError as exc:
            outcome = type(exc).__name__
        finally:
            limit.release()
        now = self._clock()
        self.stats.record(int(now - self._t0), outcome, now - began)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        stopping = self._stopping = asyncio.Event()
        self._started.set()
        if self._stop_requested:
            stopping.set()
        limit = asyncio.Semaphore(self._max_in_flight)
        interval = 1.0 / self.rate
        pending: set[asyncio.Task[None]] = set()
        client = self._client
        try:
            next_at = self._clock()
            i = 0
            while not stopping.is_set():
                await limit.acquire()
                task = asyncio.create_task(self._one(client, limit, self.paths[i % len(self.paths)]))
                pending.add(task)
                task.add_done_callback(pending.discard)
                i += 1
                next_at += interval
                delay = next_at - self._clock()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), delay)
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            client.close()
