"""Supervision of real revision processes: start, crash at start, restart on crash, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from keel.platforms.base import RevisionState
from keel.platforms.local.state import RevisionRecord
from keel.platforms.local.supervisor import SupervisedRevision, group_alive, resolve_command
from tests.keel.platforms.local.conftest import APP_COMMAND, free_port

QUICK = {"backoff": 0.05, "max_backoff": 0.2, "poll": 0.05}


def _record(name: str, command: tuple[str, ...] = APP_COMMAND, **env: str) -> RevisionRecord:
    port = free_port()
    return RevisionRecord(
        name, command, {"PORT": str(port), "REVISION": name, **env}, os.getcwd(), port, time.time()
    )


async def _until(revision: SupervisedRevision, *states: RevisionState, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while revision.state not in states:
        assert time.monotonic() < deadline, f"{revision.name} still {revision.state}: {revision.detail}"
        await asyncio.sleep(0.05)


async def test_revision_runs_on_its_port_with_its_env_and_logs(tmp_path: Path) -> None:
    record = _record("r1", SECRET_THING="s3cr3t")
    revision = SupervisedRevision(record, tmp_path / "r1.log", **QUICK)
    revision.start()
    try:
        await _until(revision, RevisionState.RUNNING)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{record.port}") as client:
            assert (await client.get("/")).text == "r1"
            assert (await client.get("/env", params={"name": "SECRET_THING"})).text == "s3cr3t"
        assert revision.pid is not None
    finally:
        await revision.stop(grace=10)
    assert revision.state is RevisionState.STOPPED
    assert "start #1 of r1" in (tmp_path / "r1.log").read_text()


async def test_crash_at_start_ends_failed_after_the_attempts(tmp_path: Path) -> None:
    revision = SupervisedRevision(
        _record("bad", CRASH_AT_START="1"), tmp_path / "bad.log", start_attempts=3, **QUICK
    )
    revision.start()
    await _until(revision, RevisionState.FAILED)
    assert "exited with code 3" in revision.detail and "3 times" in revision.detail
    assert revision.restarts == 2
    assert (tmp_path / "bad.log").read_text().count("crashing at start on purpose") == 3
    await revision.stop()
    assert revision.state is RevisionState.FAILED  # stopping does not hide why it failed


async def test_missing_program_fails_at_once(tmp_path: Path) -> None:
    revision = SupervisedRevision(_record("none", ("no-such-program-keel",)), tmp_path / "none.log", **QUICK)
    revision.start()
    await _until(revision, RevisionState.FAILED, within=10)
    assert "cannot start 'no-such-program-keel'" in revision.detail


async def test_crash_while_running_is_restarted(tmp_path: Path) -> None:
    record = _record("r1")
    revision = SupervisedRevision(record, tmp_path / "r1.log", **QUICK)
    revision.start()
    try:
        await _until(revision, RevisionState.RUNNING)
        first = revision.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while revision.pid in (None, first) or revision.state is not RevisionState.RUNNING:
            assert time.monotonic() < deadline, revision.detail
            await asyncio.sleep(0.05)
        assert revision.restarts == 1
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{record.port}/")).text == "r1"
    finally:
        await revision.stop()


async def test_stop_reaches_children_and_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    # A shell that starts a background child and a Python server that ignores SIGTERM.
    script = (
        "import os, signal, socket, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen(['sleep', '600'])\n"
        "s = socket.socket(); s.bind(('127.0.0.1', int(os.environ['PORT']))); s.listen()\n"
        "time.sleep(600)\n"
    )
    revision = SupervisedRevision(
        _record("stubborn", (sys.executable, "-c", script)), tmp_path / "s.log", **QUICK
    )
    revision.start()
    await _until(revision, RevisionState.RUNNING)
    pid = revision.pid
    assert pid is not None and group_alive(pid)
    started = time.monotonic()
    await revision.stop(grace=0.5)
    assert time.monotonic() - started < 10
    assert not group_alive(pid)  # the server and its sleeping child are gone
    assert revision.state is RevisionState.STOPPED


def test_resolve_command_finds_programs_beside_this_python() -> None:
    python_dir = Path(sys.executable).parent
    resolved = resolve_command(("python", "-V"), {"PATH": "/nonexistent"})
    assert resolved[0] == str(python_dir / "python") and resolved[1:] == ["-V"]
    assert resolve_command(("/bin/echo", "x"), {}) == ["/bin/echo", "x"]
    assert resolve_command(("no-such-program-keel",), {"PATH": ""}) == ["no-such-program-keel"]
