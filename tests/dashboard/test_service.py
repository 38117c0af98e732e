"""The service through HTTP: readiness and each serving revision's /metrics, read from a real HTTP server
(a revision that cannot be read is listed, not fatal)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keel.dashboard.service import HttpProbe

METRICS = b"""# TYPE health_check_status gauge
health_check_status{check="database"} 1.0
health_check_status{check="redis"} -1.0
# TYPE health_check_latency_seconds gauge
health_check_latency_seconds{check="database"} 0.004
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/items",status="200"} 99.0
http_requests_total{method="GET",route="/items",status="503"} 1.0
"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health/ready":
            body, code, kind = json.dumps({"status": "unhealthy", "checks": {"database": "unhealthy",
                                                                              "redis": "disabled"}}).encode(), 503, "application/json"  # fmt: skip
        elif self.path == "/metrics":
            body, code, kind = METRICS, 200, "text/plain; version=0.0.4"
        else:
            body, code, kind = b"no", 404, "text/plain"
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


async def test_readiness_dependencies_and_errors(service: str) -> None:
    async def targets() -> list[str]:
        return [service, "http://127.0.0.1:9"]  # the second revision cannot be read

    probe = HttpProbe(service + "/health/ready", targets, timeout=5)
    health = await probe.health()
    ready = health["readiness"]
    assert ready["ready"] is False and ready["http_status"] == 503 and ready["status"] == "unhealthy"
    assert ready["checks"] == {"database": "unhealthy", "redis": "not configured"}
    assert health["dependencies"] == [
        # the status readiness just saw, the latency of the check's last run (its gauge)
        {"name": "database", "status": "unhealthy", "latency_ms": 4.0},
        {"name": "redis", "status": "not configured", "latency_ms": None},
    ]
    assert health["unreadable"] == ["http://127.0.0.1:9"]
    errors = await probe.errors()
    assert errors["rate_5xx"] == 0.01 and errors["by_status"] == {"503": 1.0}


async def test_an_unreachable_service_is_said() -> None:
    async def targets() -> list[str]:
        return []

    health = await HttpProbe("http://127.0.0.1:9/health/ready", targets, timeout=2).health()
    assert health["readiness"]["ready"] is None and health["readiness"]["status"] == "unreachable"
