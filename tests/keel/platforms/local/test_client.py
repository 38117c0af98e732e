"""LocalPlatform end to end: a real daemon process, real revision processes, real HTTP through the router."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from keel.platforms.base import Revision, RevisionSpec, RevisionState
from keel.platforms.local import DaemonNotRunning, LocalPlatform, LocalPlatformError
from keel.platforms.local.client import pid_alive
from keel.platforms.local.supervisor import group_alive
from tests.keel.platforms.local.conftest import APP_COMMAND, free_port

pytestmark = pytest.mark.slow

MakePlatform = Callable[..., LocalPlatform]


@pytest.fixture
async def make_platform(tmp_path: Path) -> AsyncIterator[MakePlatform]:
    made: list[LocalPlatform] = []

    def make(port: int | None = None, **options: object) -> LocalPlatform:
        platform = LocalPlatform(
            "svc", "test", APP_COMMAND, port or free_port(), tmp_path / f"state{len(made)}",
            {"SHARED": "from-environment"}, stop_grace=5, **options,  # type: ignore[arg-type]
        )  # fmt: skip
        made.append(platform)
        return platform

    yield make
    for platform in made:
        await platform.stop()


async def _running(platform: LocalPlatform, *names: str, within: float = 60) -> dict[str, Revision]:
    deadline = time.monotonic() + within
    while True:
        revisions = {r.name: r for r in await platform.revisions()}
        if all(revisions[n].state is RevisionState.RUNNING for n in names):
            return revisions
        assert time.monotonic() < deadline, revisions
        await asyncio.sleep(0.1)


async def test_deploy_split_read_back_and_remove(make_platform: MakePlatform) -> None:
    platform = make_platform()
    first = await platform.deploy(RevisionSpec("r1", env={"REVISION": "r1"}))
    assert first.state in (RevisionState.STARTING, RevisionState.RUNNING)
    assert (await platform.traffic()).weights == {}
    await _running(platform, "r1")
    assert (await platform.set_traffic({"r1": 100})).weights == {"r1": 100}
    second = await platform.deploy(RevisionSpec("r2", env={"REVISION": "r2", "ONLY_R2": "yes"}))
    await _running(platform, "r2")
    async with httpx.AsyncClient() as client:
        assert (await client.get(platform.url)).text == "r1"  # r2 has no user traffic yet...
        assert (await client.get(second.url)).text == "r2"  # ...but answers on its tag URL
        assert (await client.get(f"{second.url}/env", params={"name": "ONLY_R2"})).text == "yes"
        assert (await client.get(f"{second.url}/env", params={"name": "SHARED"})).text == "from-environment"
        assert (await client.get(f"{second.url}/env", params={"name": "KEEL_REVISION"})).text == "r2"
        split = await platform.set_traffic({"r1": 50, "r2": 50})
        assert split.weights == {"r1": 50, "r2": 50}
        assert (await platform.traffic()).weights == {"r1": 50, "r2": 50}
        seen = Counter([(await client.get(platform.url)).text for _ in range(100)])
    assert set(seen) == {"r1", "r2"}
    now = time.time()
    window = await platform.metric_source().window("r2", now - 60, now + 1)
    assert window.requests == seen["r2"] and window.errors == 0 and window.latency.total == seen["r2"]
    assert [r.name for r in await platform.revisions()] == ["r1", "r2"]

    with pytest.raises(LocalPlatformError, match="serves 50 %"):
        await platform.remove("r2")
    with pytest.raises(ValueError, match="add up to 90"):
        await platform.set_traffic({"r1": 90})
    await platform.set_traffic({"r1": 100, "r2": 0})
    assert (await platform.traffic()).weights == {"r1": 100}
    await platform.remove("r2")
    assert [r.name for r in await platform.revisions()] == ["r1"]
    assert "start #1 of r2" in platform.log_path("r2").read_text()  # logs outlive the revision


async def test_crash_at_start_revision_is_failed_and_takes_no_traffic(make_platform: MakePlatform) -> None:
    platform = make_platform()
    await platform.deploy(RevisionSpec("bad", env={"CRASH_AT_START": "1"}))
    deadline = time.monotonic() + 60
    while (bad := (await platform.revisions())[0]).state is not RevisionState.FAILED:
        assert time.monotonic() < deadline, bad
        await asyncio.sleep(0.2)
    assert "exited with code 3" in bad.detail
    with pytest.raises(LocalPlatformError, match="bad is failed"):
        await platform.set_traffic({"bad": 100})
    assert (await platform.traffic()).weights == {}


async def test_no_request_fails_under_load_through_canary_steps_and_rollback(
    make_platform: MakePlatform,
) -> None:
    platform = make_platform()
    await platform.deploy(RevisionSpec("r1", env={"REVISION": "r1"}))
    await platform.deploy(RevisionSpec("r2", env={"REVISION": "r2"}))
    await _running(platform, "r1", "r2")
    await platform.set_traffic({"r1": 100})
    statuses: Counter[int] = Counter()
    served: Counter[str] = Counter()
    stop = asyncio.Event()

    async def load() -> None:
        async with httpx.AsyncClient(base_url=platform.url, timeout=30) as client:
            while not stop.is_set():
                response = await client.get("/")
                statuses[response.status_code] += 1
                served[response.text] += 1

    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as client:
        workers = [asyncio.create_task(load()) for _ in range(4)]
        await asyncio.sleep(0.3)
        for weights in ({"r1": 90, "r2": 10}, {"r1": 50, "r2": 50}, {"r2": 100}):
            await platform.set_traffic(weights)
            await asyncio.sleep(0.3)
        slow = asyncio.create_task(client.get("/slow", params={"seconds": "1.5"}))  # lands on r2
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await platform.set_traffic({"r1": 100})  # the rollback: one admin call
        switch = time.monotonic() - started
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*workers)
        in_flight = await slow
    assert set(statuses) == {200}, statuses
    assert served["r1"] > 0 and served["r2"] > 0
    assert in_flight.status_code == 200 and in_flight.text == "r2 slow"  # finished where it started
    assert switch < 5  # generous: the benchmark measures this properly
    async with httpx.AsyncClient() as client:
        assert {(await client.get(platform.url)).text for _ in range(20)} == {"r1"}


async def test_daemon_outlives_the_process_that_started_it_and_down_leaves_nothing(
    make_platform: MakePlatform, tmp_path: Path
) -> None:
    platform = make_platform()
    script = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from keel.platforms.base import RevisionSpec
        from keel.platforms.local import LocalPlatform
        platform = LocalPlatform("svc", "test", {list(APP_COMMAND)!r}, {platform.port}, Path({str(platform.state.path)!r}))
        async def main():
            await platform.deploy(RevisionSpec("r1", env={{"REVISION": "r1"}}))
        asyncio.run(main())
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, cwd=os.getcwd())
    info = platform.daemon()
    assert info is not None and pid_alive(info.pid)
    revisions = await _running(platform, "r1")
    await platform.set_traffic({"r1": 100})
    async with httpx.AsyncClient() as client:
        assert (await client.get(platform.url)).text == "r1"
    status = await platform.revision_status()
    revision_pid = status[0].pid
    assert revision_pid is not None and revisions["r1"].url.endswith(str(status[0].port))

    assert await platform.stop() is True
    assert not pid_alive(info.pid)
    assert not group_alive(revision_pid)
    assert platform.daemon() is None
    assert not platform.state.state_file.exists()  # down forgets the revisions
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # fails only while something listens
        sock.bind(("127.0.0.1", platform.port))  # the router's port is free again
        sock.listen()
    assert await platform.stop() is False


async def test_killed_daemon_is_replaced_by_one_that_recovers(make_platform: MakePlatform) -> None:
    platform = make_platform()
    await platform.deploy(RevisionSpec("r1", env={"REVISION": "r1"}))
    await _running(platform, "r1")
    await platform.set_traffic({"r1": 100})
    old = platform.daemon()
    old_pid = (await platform.revision_status())[0].pid
    assert old is not None and old_pid is not None
    os.kill(old.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(old.pid):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert (await platform.traffic()).weights == {"r1": 100}  # a new daemon, same weights
    new = platform.daemon()
    assert new is not None and new.pid != old.pid
    await _running(platform, "r1")
    assert not group_alive(old_pid)  # the orphaned revision process was stopped and replaced
    async with httpx.AsyncClient() as client:
        assert (await client.get(platform.url)).text == "r1"


async def test_without_auto_start_a_stopped_platform_says_so(make_platform: MakePlatform) -> None:
    platform = make_platform(auto_start=False)
    with pytest.raises(DaemonNotRunning, match="keel up --env test"):
        await platform.revisions()


async def test_port_taken_is_a_clear_start_error(make_platform: MakePlatform) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        platform = make_platform(port=sock.getsockname()[1])
        with pytest.raises(LocalPlatformError, match=r"cannot listen on 127\.0\.0\.1"):
            await platform.deploy(RevisionSpec("r1"))


async def test_two_callers_starting_at_once_share_one_daemon(make_platform: MakePlatform) -> None:
    first = make_platform()
    second = LocalPlatform("svc", "test", APP_COMMAND, first.port, first.state.path)
    one, two = await asyncio.gather(first.start(), second.start())
    assert one.pid == two.pid
    # Whether the second caller spawned a daemon of its own (which then found the lock held and exited) or
    # saw the first one already running depends on timing; either way exactly one daemon serves.
    log = first.state.daemon_log.read_text()
    assert log.count("INFO keel.local.daemon: serving svc") == 1


def _program(directory: Path, name: str, label: str) -> Path:
    """An executable ``name`` in ``directory`` that runs the revision app answering ``label``."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(f"#!/bin/sh\nREVISION={label} exec {APP_COMMAND[0]} {APP_COMMAND[1]}\n")
    script.chmod(0o755)
    return script


async def test_a_bare_program_name_is_found_on_the_deploying_callers_path(
    make_platform: MakePlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The daemon starts from a shell whose PATH has the old "venv"; a later `keel deploy` runs from a shell
    # that activated the new one: the revision must run the new program, not the daemon's.
    name = "keel-test-revision"
    _program(tmp_path / "old-venv", name, "old-venv")
    new = _program(tmp_path / "new-venv", name, "new-venv")
    original = os.environ.get("PATH", os.defpath)
    monkeypatch.setenv("PATH", f"{tmp_path / 'old-venv'}{os.pathsep}{original}")
    platform = make_platform()
    await platform.start()
    monkeypatch.setenv("PATH", f"{tmp_path / 'new-venv'}{os.pathsep}{original}")
    revision = await platform.deploy(RevisionSpec("r1", command=(name,)))
    await _running(platform, "r1")
    async with httpx.AsyncClient() as client:
        assert (await client.get(revision.url)).text == "new-venv"
    described = (await platform._call("GET", "/v1/revisions"))["revisions"][0]
    assert described["command"] == [str(new)]


async def test_a_program_on_no_path_is_refused_naming_the_keel_yaml_key(
    make_platform: MakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform()
    platform.command = ("no-such-program-keel", "serve")  # as keel.yaml's run: gives it
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LocalPlatformError) as caught:
        await platform.deploy(RevisionSpec("r1"))
    message = str(caught.value)
    assert "keel.yaml environments.test.run: program 'no-such-program-keel'" in message
    assert "PATH" in message
    with pytest.raises(LocalPlatformError, match="revision r2: command: program 'other-missing-keel'"):
        await platform.deploy(RevisionSpec("r2", command=("other-missing-keel",)))
    assert platform.daemon() is None  # refused before any daemon or revision was started
