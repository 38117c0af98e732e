"""Loopback servers for the health tests: any ASGI app under uvicorn, provider look-alikes, a silent listener."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from keel.types import ASGIApp, Receive, Scope, Send


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve(app: ASGIApp, *, lifespan: str = "off") -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in this event loop; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan, access_log=False
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        task.cancel()
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 30)
        except TimeoutError:
            server.force_exit = True


@asynccontextmanager
async def silent_listener() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never sends a byte."""
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield port
    finally:
        release.set()
        server.close()


# What each provider's documented, unbilled endpoint looks like: path, auth header and a 200 body.
PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {
        "path": "/v1/models",
        "header": "authorization",
        "value": "Bearer {key}",
        "body": {"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]},
    },
    "elevenlabs": {
        "path": "/v1/user",
        "header": "xi-api-key",
        "value": "{key}",
        "body": {"user_id": "u1", "subscription": {"tier": "free"}},
    },
    "anthropic": {
        "path": "/v1/models",
        "header": "x-api-key",
        "value": "{key}",
        "body": {"data": [{"id": "claude-sonnet-4", "type": "model"}], "has_more": False},
    },
    "pinecone": {
        "path": "/indexes",
        "header": "api-key",
        "value": "{key}",
        "body": {"indexes": [{"name": "bayit-content", "dimension": 1536}]},
    },
}


@dataclass
class ProviderStub:
    """An ASGI app answering like a provider: 200 with the documented body for the right key, 401 for a
    wrong one, or a forced status (429, 500). Counts the requests it saw."""

    provider: str
    key: str
    status: int | None = None  # force this status for every request
    requests: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        spec = PROVIDERS[self.provider]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(headers | {":path": scope["path"]})
        if self.status is not None:
            status, body = self.status, {"error": {"message": f"forced {self.status}"}}
        elif scope["path"] != spec["path"]:
            status, body = 404, {"error": "not found"}
        elif headers.get(spec["header"]) != spec["value"].format(key=self.key):
            status, body = 401, {"error": {"message": "Incorrect API key provided"}}
        else:
            status, body = 200, spec["body"]
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": data})


@contextmanager
def gcs_emulator() -> Iterator[str]:
    """gcp-storage-emulator (from PyPI) in memory on a free port; yields the STORAGE_EMULATOR_HOST value."""
    exe = Path(sys.executable).parent / "gcp-storage-emulator"
    found = str(exe) if exe.exists() else shutil.which("gcp-storage-emulator")
    if found is None:
        pytest.skip("gcp-storage-emulator is not installed")
    port = free_port()
    command = [found, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gcp-storage-emulator did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
