"""The daemon's core in-process: deploy, traffic rules, remove, and recovery after a daemon died."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from keel.platforms.base import RevisionState
from keel.platforms.local.daemon import Conflict, Daemon, NotFound, free_port
from keel.platforms.local.errors import LocalPlatformError
from keel.platforms.local.state import PersistedState, RevisionRecord, StateDir
from keel.platforms.local.supervisor import SupervisedRevision, group_alive
from tests.keel.platforms.local.conftest import APP_COMMAND

QUICK = {"backoff": 0.05, "max_backoff": 0.2, "poll": 0.05}


async def _until_running(daemon: Daemon, *names: str) -> None:
    deadline = time.monotonic() + 60
    while any(daemon.revisions[n].state is not RevisionState.RUNNING for n in names):
        assert time.monotonic() < deadline, {n: daemon.revisions[n].detail for n in names}
        await asyncio.sleep(0.05)


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    state = StateDir(tmp_path / "state")
    state.ensure()
    daemon = Daemon(state, service="svc", env_name="test", stop_grace=5, supervision=QUICK)
    daemon.router_port = await daemon.router.start("127.0.0.1", 0)
    yield daemon
    await daemon.shutdown()


def _deploy(daemon: Daemon, name: str, **env: str) -> SupervisedRevision:
    return daemon.deploy(name, list(APP_COMMAND), {"REVISION": name, **env}, os.getcwd())


async def test_deploy_route_and_remove(daemon: Daemon) -> None:
    _deploy(daemon, "r1")
    _deploy(daemon, "r2", TOKEN="hidden-value")
    await _until_running(daemon, "r1", "r2")
    described = daemon.describe(daemon.revisions["r2"])
    assert described["env_keys"] == ["REVISION", "TOKEN"]
    assert "hidden-value" not in repr(described)
    assert described["port"] not in (daemon.revisions["r1"].record.port, daemon.router_port)

    assert daemon.set_traffic({"r1": 90, "r2": 10}) == {"r1": 90, "r2": 10}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.router_port}") as client:
        answers = {(await client.get("/")).text for _ in range(60)}
    assert answers == {"r1", "r2"}

    with pytest.raises(Conflict, match="serves 10 %"):
        await daemon.remove("r2")
    daemon.set_traffic({"r1": 100, "r2": 0})
    await daemon.remove("r2")
    assert set(daemon.revisions) == {"r1"}
    assert [r.name for r in daemon.state.read_state().revisions] == ["r1"]
    assert daemon.state.read_state().weights == {"r1": 100}


async def test_traffic_rules(daemon: Daemon) -> None:
    _deploy(daemon, "r1")
    _deploy(daemon, "crash", CRASH_AT_START="1")
    with pytest.raises(NotFound, match="no revision nope"):
        daemon.set_traffic({"nope": 100})
    with pytest.raises(LocalPlatformError, match="add up to 50"):
        daemon.set_traffic({"r1": 50})
    with pytest.raises(Conflict, match="already exists"):
        _deploy(daemon, "r1")
    with pytest.raises(LocalPlatformError, match="not valid"):
        _deploy(daemon, "Bad Name")
    deadline = time.monotonic() + 60
    while daemon.revisions["crash"].state is not RevisionState.FAILED:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    with pytest.raises(Conflict, match="crash is failed"):
        daemon.set_traffic({"crash": 100})
    with pytest.raises(NotFound):
        await daemon.remove("nope")


async def test_recover_restarts_revisions_restores_weights_and_stops_leftovers(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    state.ensure()
    # What a daemon killed with -9 leaves: a running revision process and state.json naming it.
    port = free_port()
    leftover = await asyncio.create_subprocess_exec(
        *APP_COMMAND, env={**os.environ, "PORT": str(port), "REVISION": "r1"}, start_new_session=True
    )
    record = RevisionRecord(
        "r1", APP_COMMAND, {"REVISION": "r1", "PORT": str(port)}, os.getcwd(), port, 1.0, leftover.pid
    )
    state.write_state(PersistedState((record,), {"r1": 100}))

    daemon = Daemon(state, service="svc", env_name="test", stop_grace=5, supervision=QUICK)
    daemon.router_port = await daemon.router.start("127.0.0.1", 0)
    try:
        await daemon.recover()
        assert leftover.returncode is not None or await asyncio.wait_for(leftover.wait(), 10) is not None
        assert not group_alive(leftover.pid)
        assert daemon.router.table.weights == {"r1": 100}
        await _until_running(daemon, "r1")
        new_pid = daemon.revisions["r1"].pid
        assert new_pid is not None and new_pid != leftover.pid
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{daemon.router_port}/")).text == "r1"
    finally:
        await daemon.shutdown()
    assert not group_alive(new_pid)  # shutdown stops what recovery started


async def test_recovered_revision_moves_when_its_port_is_taken(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    state.ensure()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        record = RevisionRecord("r1", APP_COMMAND, {"REVISION": "r1"}, os.getcwd(), taken, 1.0)
        state.write_state(PersistedState((record,), {"r1": 100}))
        daemon = Daemon(state, service="svc", env_name="test", stop_grace=5, supervision=QUICK)
        daemon.router_port = await daemon.router.start("127.0.0.1", 0)
        try:
            await daemon.recover()
            moved = daemon.revisions["r1"].record.port
            assert moved != taken
            await _until_running(daemon, "r1")
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"http://127.0.0.1:{daemon.router_port}/")).text == "r1"
                assert (
                    await client.get(f"http://127.0.0.1:{moved}/env", params={"name": "PORT"})
                ).text == str(moved)
        finally:
            await daemon.shutdown()
