"""Helpers of the deploy/rollback CLI tests: a project on the local platform with the tiny revision app,
the keel CLI as a subprocess, and a background load thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.keel.platforms.local.conftest import APP_COMMAND, free_port

KEEL = str(Path(sys.executable).parent / "keel")


def write_spec(directory: Path, port: int, strategy: str, extra: str = "") -> Path:
    spec = directory / "keel.yaml"
    spec.write_text(
        f"""service: tiny
environments:
  local:
    platform: local
    run: {json.dumps(list(APP_COMMAND))}
    port: {port}
gates:
  health: {{path: /health/ready, passes: 2, deadline: 30s, interval: 0.2s}}
  smoke:
    - {{path: /, status: 200}}
strategy: {strategy}
analysis: {{interval: 0.5s, min_requests: 10, max_extra_hold: 2s, thresholds: {{min_success_rate: 95%}}}}
rollback: {{passes: 2, deadline: 20s, interval: 0.2s}}
{extra}"""
    )
    return spec


def keel(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    full.pop("KEEL_STATE_DIR", None)
    full.pop("GITHUB_STEP_SUMMARY", None) if "GITHUB_STEP_SUMMARY" not in (env or {}) else None
    return subprocess.run(
        [KEEL, *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"not JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}") from exc
    return data


class Load:
    """Requests to the router from a thread while a CLI process releases; counts every outcome."""

    def __init__(self, url: str, path: str = "/", pause: float = 0.01) -> None:
        self.url, self.path, self.pause = url, path, pause
        self.outcomes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    self.outcomes[str(client.get(self.path).status_code)] += 1
                except httpx.HTTPError as exc:
                    self.outcomes[type(exc).__name__] += 1
                time.sleep(self.pause)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


__all__ = ["Load", "free_port", "keel", "result", "write_spec"]
