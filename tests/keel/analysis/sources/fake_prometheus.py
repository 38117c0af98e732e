"""A local HTTP server that answers ``/api/v1/query`` as Prometheus documents it, from a fixed table."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Series:
    requests: float
    errors: float
    buckets: dict[str, float]  # le -> cumulative count


@dataclass
class FakePrometheus:
    data: dict[str, Series] = field(default_factory=dict)
    label: str = "revision"
    queries: list[dict[str, str]] = field(default_factory=list)
    fail_with: tuple[int, dict[str, Any]] | None = None
    url: str = ""

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.queries.append(params)
        if self.fail_with:
            return self.fail_with
        query = params.get("query", "")
        match = re.search(self.label + r'="((?:[^"\\]|\\.)*)"', query)
        if not match or not re.search(r"\[\d+s\]", query):
            return 400, {"status": "error", "errorType": "bad_data", "error": f"cannot parse {query!r}"}
        series = self.data.get(match.group(1).replace('\\"', '"'))
        t = float(params.get("time", "0"))
        result: list[dict[str, Any]] = []
        if series is not None:
            if query.startswith("sum by (le)"):
                result = [{"metric": {"le": le}, "value": [t, str(v)]} for le, v in series.buckets.items()]
            elif '=~"5.."' in query:
                result = [{"metric": {}, "value": [t, str(series.errors)]}]
            else:
                result = [{"metric": {}, "value": [t, str(series.requests)]}]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


@contextmanager
def serve(fake: FakePrometheus) -> Iterator[FakePrometheus]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/api/v1/query":
                self.send_error(404)
                return
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            auth = self.headers.get("Authorization")
            if auth:
                params["_auth"] = auth
            status, body = fake.answer(params)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
