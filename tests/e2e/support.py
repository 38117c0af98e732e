"""End-to-end support: a Bayit+ project on the local platform, the keel CLI, steady load, phase watching."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from keel.store import Store
from tests.keel.cli.releases import KEEL, free_port, keel, result

ENV = "e2e"
SMOKE_CHECKS = """\
    - {path: /api/v1/, status: 200}
    - {path: /api/v1/users/me, status: 401}
    - {path: /api/v1/watchlist, status: 401}
    - {path: "/api/v1/content?limit=5", status: 200}"""

THRESHOLDS_ANALYSIS = """\
  # The issue's analysis "for now": thresholds on the canary's error rate and p95 from the router's metrics.
  judge: thresholds
  interval: 1s
  min_requests: 30
  max_extra_hold: 8s
  thresholds: {min_success_rate: 99%, max_p95: 250ms}"""


def write_project(
    directory: Path,
    port: int,
    *,
    hold: float = 8.0,
    smoke: str | None = None,
    analysis: str | None = None,
) -> Path:
    """keel.yaml for Bayit+ on SQLite with short holds; ``smoke`` replaces the inline checks (e.g. a file),
    ``analysis`` the analysis block (its indented body; by default the threshold judge)."""
    env = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'bayit.db'}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "LOG_LEVEL": "WARNING",
    }
    smoke_block = f"  smoke: {smoke}" if smoke else "  smoke:\n" + SMOKE_CHECKS
    analysis = analysis or THRESHOLDS_ANALYSIS
    spec = directory / "keel.yaml"
    spec.write_text(
        f"""service: bayit-e2e
environments:
  {ENV}:
    platform: local
    run: [bayit, serve, --seed, --host, 127.0.0.1]
    port: {port}
    env: {json.dumps(env)}
gates:
  health: {{path: /health/ready, passes: 2, deadline: 90s, interval: 0.5s}}
{smoke_block}
strategy:
  canary:
    steps: [{{weight: 10, hold: {hold:g}s}}, {{weight: 50, hold: 4s}}, {{weight: 100}}]
analysis:
{analysis}
rollback: {{passes: 2, deadline: 30s, interval: 0.25s}}
"""
    )
    return spec


def deploy(directory: Path, *values: str, timeout: float = 180) -> tuple[int, dict[str, Any], str]:
    args = ["deploy", "--env", ENV, "--format", "json"]
    for value in values:
        args += ["--set", value]
    proc = keel(*args, cwd=directory, timeout=timeout)
    return proc.returncode, result(proc), proc.stderr


def status(directory: Path) -> dict[str, Any]:
    proc = keel("status", "--env", ENV, "--format", "json", cwd=directory)
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def assert_on_one_healthy_revision(directory: Path, expected: str | None = None) -> str:
    """All traffic on one revision, and that revision answers its readiness probe."""
    data = status(directory)
    assert len(data["traffic"]) == 1 and list(data["traffic"].values()) == [100], data["traffic"]
    name = next(iter(data["traffic"]))
    if expected is not None:
        assert name == expected, (name, expected)
    serving = next(r for r in data["revisions"] if r["name"] == name)
    ready = httpx.get(serving["url"] + "/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    return name


class Load:
    """Steady requests to the router from two threads. Outcomes: "ok", "fault" (a 500 that Bayit+'s fault
    switch produced, i.e. the faulty revision answering), or anything else: a request that failed because of
    a traffic change, which must never happen."""

    def __init__(self, url: str, pause: float = 0.02) -> None:
        self.url, self.pause = url, pause
        self.outcomes: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(2)]

    def _run(self, i: int) -> None:
        paths = ["/api/v1/content?limit=5", "/api/v1/", "/api/v1/live?limit=5"]
        n = 0
        with httpx.Client(base_url=self.url, timeout=15) as client:
            while not self._stop.is_set():
                n += 1
                try:
                    response = client.get(paths[(n + i) % len(paths)])
                    if response.status_code == 200:
                        kind = "ok"
                    elif response.status_code == 500 and "injected fault" in response.text:
                        kind = "fault"
                    else:
                        kind = f"HTTP {response.status_code}: {response.text[:80]}"
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                with self._lock:
                    self.outcomes[kind] += 1
                time.sleep(self.pause)

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Counter[str]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=20)
        return self.outcomes

    def unexpected(self) -> dict[str, int]:
        with self._lock:
            return {k: v for k, v in self.outcomes.items() if k not in ("ok", "fault")}


def start_deploy(
    directory: Path, *values: str, env_name: str = ENV, group: bool = False
) -> subprocess.Popen[str]:
    """``keel deploy`` in the background; ``group`` starts it in a session of its own (to kill it whole)."""
    args = [KEEL, "deploy", "--env", env_name, "--format", "json"]
    for value in values:
        args += ["--set", value]
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KEEL_STATE_DIR", None)
    return subprocess.Popen(
        args, cwd=directory, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=group,
    )  # fmt: skip


def wait_for_holding(
    store_url: str, service: str, env_name: str = ENV, timeout: float = 180
) -> dict[str, Any]:
    """Poll a (shared) store until the environment's active rollout holds a canary step; returns its state."""
    from keel.store import Store

    deadline = time.monotonic() + timeout
    with Store(store_url, service=service) as store:
        while time.monotonic() < deadline:
            row = store.active_rollout(env_name)
            if row is not None and row.phase == "holding":
                return row.state
            time.sleep(0.1)
    raise AssertionError(f"no rollout reached holding within {timeout}s")


def wait_for_phase(
    directory: Path, phase: str, *, step: int | None = None, timeout: float = 120
) -> dict[str, Any]:
    """Poll the store until the active rollout is in ``phase`` (and at ``step``); returns its state."""
    deadline = time.monotonic() + timeout
    path = directory / ".keel" / "keel.db"
    while time.monotonic() < deadline:
        if path.exists():
            store = Store(path)
            try:
                row = store.active_rollout(ENV)
            finally:
                store.close()
            if row is not None and row.phase == phase and (step is None or row.state.get("step") == step):
                return row.state
        time.sleep(0.05)
    raise AssertionError(f"no rollout reached {phase} within {timeout}s")


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


__all__ = [
    "ENV",
    "Load",
    "deploy",
    "free_port",
    "keel",
    "kill9",
    "result",
    "start_deploy",
    "status",
    "wait_for_phase",
]
