"""A scripted HTTP server answering Cloud Run Admin API v2 REST calls with handwritten JSON, recording every
request, so the adapter is tested against the wire format of run.googleapis.com."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SERVICE = "projects/bayit-plus/locations/us-east1/services/bayit-plus-backend"
OPS = "projects/bayit-plus/locations/us-east1/operations"


def error(code: int, status: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"error": {"code": code, "message": message, "status": status}}


def service(etag: str = '"e1"', traffic: list[dict[str, Any]] | None = None,
            statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """A service as GET returns it, serving bayit-plus-backend-00001-abc at 100 % unless told otherwise."""
    traffic = traffic if traffic is not None else [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "bayit-plus-backend-00001-abc", "percent": 100}
    ]  # fmt: skip
    return {
        "name": SERVICE,
        "etag": etag,
        "generation": "3",
        "template": {
            "revision": "bayit-plus-backend-00001-abc",
            "containers": [{"image": "us-docker.pkg.dev/bayit-plus/bayit/api:1", "env": [{"name": "OLD", "value": "1"}]}],
            "vpcAccess": {"connector": "projects/bayit-plus/locations/us-east1/connectors/c1"},
        },
        "traffic": traffic,
        "trafficStatuses": statuses if statuses is not None else traffic,
        "latestReadyRevision": f"{SERVICE}/revisions/bayit-plus-backend-00001-abc",
        "uri": "https://bayit-plus-backend-abc123-ue.a.run.app",
    }  # fmt: skip


def revision(name: str, ready: str = "CONDITION_SUCCEEDED", message: str = "", created: str = "2026-12-01T10:00:00Z",
             reason: str | None = None) -> dict[str, Any]:  # fmt: skip
    condition: dict[str, Any] = {"type": "Ready", "state": ready, "message": message}
    if reason:
        condition["revisionReason"] = reason
    return {"name": f"{SERVICE}/revisions/{name}", "createTime": created, "conditions": [condition]}


def done(response: dict[str, Any], type_: str = "google.cloud.run.v2.Service") -> dict[str, Any]:
    return {
        "name": f"{OPS}/op-1",
        "done": True,
        "response": {"@type": f"type.googleapis.com/{type_}", **response},
    }


@dataclass
class FakeAdmin:
    """``script[(METHOD, path)]`` is a list of answers consumed in order (the last one repeats)."""

    script: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    url: str = ""

    def on(self, method: str, path: str, *answers: tuple[int, dict[str, Any]]) -> None:
        self.script[(method, path)] = list(answers)

    def calls(self, method: str) -> list[tuple[str, dict[str, str], Any]]:
        return [(p, q, b) for m, p, q, b in self.requests if m == method]

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path, query, body))
        answers = self.script.get((method, path))
        if not answers:
            return error(404, "NOT_FOUND", f"no scripted answer for {method} {path}")
        return answers.pop(0) if len(answers) > 1 else answers[0]


@contextmanager
def serve(fake: FakeAdmin) -> Iterator[FakeAdmin]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _do(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            code, answer = fake.answer(self.command, parts.path, dict(parse_qsl(parts.query)), body)
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _do

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
