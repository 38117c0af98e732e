"""The demo's own project: a keel.yaml for the Bayit+ API on the local platform, with short holds."""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

# Both faults of the faulty release: every 10th API request fails, and every API request is 300 ms slower.
FAULTY_ENV = {"BAYIT_FAULT_ERROR_RATE": "0.1", "BAYIT_FAULT_LATENCY_MS": "300"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class DemoProject:
    directory: Path
    port: int
    hold: float

    @property
    def spec_file(self) -> Path:
        return self.directory / "keel.yaml"

    @property
    def router_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def write_project(directory: Path, port: int | None = None, hold: float = 15.0) -> DemoProject:
    """Write keel.yaml (SQLite database in the directory, a fresh SECRET_KEY for this demo only)."""
    directory.mkdir(parents=True, exist_ok=True)
    project = DemoProject(directory.resolve(), port or free_port(), hold)
    database = project.directory / "bayit.db"
    env = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        # The revisions share a database and must accept each other's tokens; this key lives and dies with
        # the demo directory (a real project passes secrets from its environment, never in keel.yaml).
        "SECRET_KEY": secrets.token_urlsafe(48),
        "LOG_LEVEL": "WARNING",
    }
    short = max(2.0, hold / 5)
    text = f"""\
# Written by `keel demo`: the Bayit+ API on the local platform, with holds shortened for the demo.
service: bayit-plus-demo
environments:
  demo:
    platform: local
    run: [bayit, serve, --seed, --host, 127.0.0.1]
    port: {project.port}
    env: {json.dumps(env)}
gates:
  health: {{path: /health/ready, passes: 2, deadline: 90s, interval: 0.5s, timeout: 5s}}
  smoke:
    - {{path: /api/v1/, status: 200}}
    - {{path: /api/v1/users/me, status: 401}}
    - {{path: "/api/v1/content?limit=5", status: 200}}
strategy:
  canary:
    steps:
      - {{weight: 10, hold: {hold:g}s}}
      - {{weight: 50, hold: {hold * 2 / 3:g}s}}
      - {{weight: 100}}
analysis:
  interval: {short:g}s
  min_requests: 20
  max_extra_hold: {hold:g}s
  thresholds: {{min_success_rate: 99%, max_p95: 250ms}}
rollback: {{passes: 2, deadline: 30s, interval: 0.25s}}
# keel's embedded watcher runs during the demo with the default rules at demo scale (seconds, not minutes):
# the faulty canary's +300 ms on 10 % of the traffic lifts the service's p95 over 250 ms.
alerts:
  interval: 1s
  keep_firing_for: 2s
  HighLatencyP95: {{threshold: 250ms, window: 5s, min_requests: 20}}
  HighErrorRate: {{window: 10s, min_requests: 20}}
  ElevatedErrorRate: {{window: 10s, min_requests: 20}}
"""
    project.spec_file.write_text(text, encoding="utf-8")
    project.spec_file.chmod(0o600)
    return project
