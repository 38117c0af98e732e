"""A tiny HTTP/1.1 server that misbehaves on purpose: wrong status, wrong JSON, slow, hangs, closes the
connection, redirects forever; plus a sign-in flow and a route with an injectable delay for latency tests.

Raw asyncio rather than an ASGI server, because a well-behaved ASGI server will not let an app hang up
without an answer or send a body that contradicts its headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

ITEMS = [{"id": i, "title": f"Title {i}", "type": "movie"} for i in range(1, 8)]
PASSWORD = "correct-horse-battery"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 302: "Found", 401: "Unauthorized", 404: "Not Found"}


def _json(status: int, data: Any) -> Response:
    return Response(status, json.dumps(data).encode())


class MisbehavingServer:
    """Start with ``await server.start()``; ``server.url`` is its base URL; ``delay`` slows /latency."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.drift = 0.0  # added to ``delay`` after every /latency request: a machine slowing down
        self.flaky_failures = 0
        self.tokens: set[str] = set()
        self.seen: list[Request] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> MisbehavingServer:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and hang up on every connection (hanging handlers are released, not cancelled)."""
        self._closing.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await self._read(reader)
                if request is None:
                    return
                self.seen.append(request)
                response = await self._route(request)
                if response is None:  # hang up without an answer
                    return
                writer.write(self._encode(response))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            first = await reader.readexactly(1)
            if first == b"\x16":  # a TLS ClientHello: answer in plain HTTP, as real servers do
                return Request("TLS", "", {}, {}, b"")
            head = first + await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        return Request(method, url.path, query, headers, body)

    def _encode(self, response: Response) -> bytes:
        reason = _REASONS.get(response.status, "Whatever")
        head = [f"HTTP/1.1 {response.status} {reason}", f"Content-Length: {len(response.body)}"]
        if response.content_type:
            head.append(f"Content-Type: {response.content_type}")
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + response.body

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in self.tokens

    async def _route(self, request: Request) -> Response | None:
        path, q = request.path, request.query
        if request.method == "TLS":
            return Response(400, b"plain HTTP here", "text/plain")
        if path == "/ok":
            return _json(200, {"status": "healthy", "name": "keel", "version": "1.2.3", "items": ITEMS[:3]})
        if path.startswith("/status/"):
            return _json(int(path.rsplit("/", 1)[1]), {"detail": "as requested"})
        if path == "/items":
            items = ITEMS[: int(q.get("n", "3"))]
            if q.get("broken"):
                items = [*items, {"id": 99, "type": "movie"}]
            return _json(200, {"items": items, "total": len(items)})
        if path == "/json/bad":
            return Response(200, b'{"status": "healthy",')
        if path == "/html":
            return Response(200, b"<html>hello</html>", "text/html; charset=utf-8")
        if path == "/slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), float(q.get("s", "1")))
            return None if self._closing.is_set() else _json(200, {"status": "healthy"})
        if path == "/hang":
            await self._closing.wait()
            return None
        if path == "/close":
            return None
        if path == "/loop":
            return Response(302, b"", None, {"Location": "/loop"})
        if path == "/latency":
            await asyncio.sleep(self.delay)
            self.delay += self.drift
            return _json(200, {"ok": True})
        if path == "/flaky":
            if self.flaky_failures > 0:
                self.flaky_failures -= 1
                return _json(503, {"detail": "warming up"})
            return _json(200, {"status": "healthy"})
        return self._account(request)

    def _account(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/login":
            body = request.json()
            if body.get("password") != PASSWORD:
                return _json(401, {"detail": "bad credentials"})
            token = "tok-" + secrets.token_hex(16)
            self.tokens.add(token)
            return _json(200, {"access_token": token, "token_type": "bearer", "user": body.get("user")})
        if request.path in {"/me", "/things"} or request.path.startswith("/things/"):
            if not self._authorized(request):
                return _json(401, {"detail": "not authenticated"})
            if request.path == "/me":
                return _json(200, {"user": "smoke", "token_echo": request.headers["authorization"]})
            if request.method == "POST":
                return _json(201, {"id": 42, "name": request.json().get("name")})
            if request.method == "DELETE":
                return Response(204, b"", None)
            return _json(200, {"items": []})
        return _json(404, {"detail": "no such route"})


class ThreadedServer:
    """A MisbehavingServer on its own event loop in a thread, for code that runs ``asyncio.run`` itself
    (the CLI). Use as a context manager."""

    def __init__(self, delay: float = 0.0) -> None:
        import threading

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server = MisbehavingServer(delay)

    def __enter__(self) -> MisbehavingServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
