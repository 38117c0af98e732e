"""``keel up``, ``keel status`` and ``keel down`` as a user runs them: real CLI processes, a real daemon."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keel.platforms.base import RevisionSpec, RevisionState
from keel.platforms.local import LocalPlatform
from keel.platforms.local.client import pid_alive
from tests.keel.platforms.local.conftest import APP_COMMAND, free_port

pytestmark = pytest.mark.slow

KEEL = str(Path(sys.executable).parent / "keel")


def _spec(tmp_path: Path, port: int) -> Path:
    spec = tmp_path / "keel.yaml"
    spec.write_text(
        f"""service: demo-svc
environments:
  local:
    platform: local
    run: {json.dumps(list(APP_COMMAND))}
    port: {port}
    env: {{SHARED: yes-shared}}
  staging: {{platform: cloudrun, project: p, region: r, service: s}}
"""
    )
    return spec


def _keel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("KEEL_STATE_DIR", None)
    return subprocess.run([KEEL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_up_status_down(tmp_path: Path) -> None:
    port = free_port()
    spec = _spec(tmp_path, port)
    platform = LocalPlatform(
        "demo-svc", "local", APP_COMMAND, port, tmp_path / ".keel" / "local", auto_start=False
    )
    try:
        not_running = _keel("status", "--file", str(spec), cwd=tmp_path)
        assert not_running.returncode == 3 and "is not running" in not_running.stderr

        started = _keel("up", "--file", str(spec), "--env", "local", cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        assert f"router http://127.0.0.1:{port}" in started.stdout
        assert "no revision serves traffic yet" in started.stdout
        info = platform.daemon()
        assert info is not None and pid_alive(info.pid)  # the daemon outlived the keel up process
        empty = _keel("status", "-f", str(spec), cwd=tmp_path)
        assert empty.returncode == 0 and "no revisions yet" in empty.stdout

        async def release() -> None:
            await platform.deploy(RevisionSpec("r1", env={"REVISION": "r1"}))
            while (await platform.revisions())[0].state is not RevisionState.RUNNING:
                await asyncio.sleep(0.1)
            await platform.set_traffic({"r1": 100})

        asyncio.run(asyncio.wait_for(release(), 60))
        again = _keel("up", "--file", str(spec), "--format", "json", cwd=tmp_path)
        assert json.loads(again.stdout)["already_running"] is True

        shown = _keel("status", "--file", str(spec), "--format", "json", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        status = json.loads(shown.stdout)
        assert status["running"] and status["traffic"] == {"r1": 100}
        (revision,) = status["revisions"]
        assert (revision["name"], revision["state"], revision["health"], revision["weight"]) == (
            "r1",
            "running",
            "ready",
            100,
        )
        table = _keel("status", "--file", str(spec), cwd=tmp_path)
        assert "r1" in table.stdout and "ready" in table.stdout and "traffic: r1 100 %" in table.stdout
        assert "yes-shared" not in table.stdout + shown.stdout  # environment values never shown

        stopped = _keel("down", "--file", str(spec), cwd=tmp_path)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert not pid_alive(info.pid)
        assert _keel("status", "--file", str(spec), cwd=tmp_path).returncode == 3
        assert "was not running" in _keel("down", "--file", str(spec), cwd=tmp_path).stdout
    finally:
        asyncio.run(platform.stop())


def test_non_local_environment_and_bad_spec_are_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, free_port())
    refused = _keel("up", "--file", str(spec), "--env", "staging", cwd=tmp_path)
    assert refused.returncode == 2 and "platform: local" in refused.stderr
    unknown = _keel("status", "--file", str(spec), "--env", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "no environment 'nope'" in unknown.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: x-svc\nenvironments:\n  local: {platform: local, port: 8080}\n")
    broken = _keel("up", "--file", str(bad), cwd=tmp_path)
    assert broken.returncode == 2 and "bad.yaml:3" in broken.stderr and "run" in broken.stderr
