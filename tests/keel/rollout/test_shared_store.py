"""A shared PostgreSQL store: the deploy lock across machines (heartbeat TTL, never another host's pid), and a
rollout left unfinished by a runner that vanished, found and finished from a fresh machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from keel.rollout.errors import LockHeld
from keel.rollout.guards import EnvironmentLock, Owner
from keel.rollout.phases import Phase
from keel.rollout.runner import new_deploy, run_to_rest, unfinished
from keel.store import Store
from tests.keel.rollout.fakes import STEPS, FakeClock, Rig

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[3]
OLD = "svc-00000-old"

CONTENDER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from keel.rollout.errors import LockHeld
    from keel.rollout.guards import EnvironmentLock, Owner
    from keel.store import Store

    url, host, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = Store(url, service="svc", lock_ttl=6.0)
    lock = EnvironmentLock(store, "staging", Owner(f"deploy:{os.getpid()}@{host}:t", host, os.getpid()),
                           time.time, keepalive=True)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    try:
        lock.acquire("r-" + host)
    except LockHeld as exc:
        print(exc, flush=True)
        sys.exit(exc.exit_code)
    print("taken", flush=True)
    time.sleep(float(sys.argv[4]))  # the release under way; the keep-alive refreshes the heartbeat meanwhile
    lock.release()
    """
)


def contender(url: str, host: str, go: Path, hold: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, "-c", CONTENDER, url, host, str(go), str(hold)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_two_machines_deploy_one_service_one_proceeds_the_other_exits_3_naming_the_holder(
    postgres_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    procs = {host: contender(postgres_url, host, go, hold=10.0) for host in ("runner-a", "runner-b")}
    for proc in procs.values():
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()  # both ask at once
    started = time.monotonic()
    loser_code = None
    while loser_code is None:
        loser_code = next((p.poll() for p in procs.values() if p.poll() is not None), None)
        time.sleep(0.05)
    assert loser_code == 3
    time.sleep(max(0.0, started + 8.0 - time.monotonic()))  # past the 6 s TTL: only the keep-alive holds it
    third = EnvironmentLock(Store(postgres_url, service="svc", lock_ttl=6.0), "staging",
                            Owner("deploy:3@runner-c:z", "runner-c", 3), time.time)  # fmt: skip
    with pytest.raises(LockHeld, match=r"last heartbeat [0-5]s ago"):
        third.acquire()
    results = {host: (proc.wait(timeout=120), proc.communicate()) for host, proc in procs.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 3], results
    winner = next(h for h, (code, _) in results.items() if code == 0)
    loser_out = next(out for code, (out, _) in results.values() if code == 3)
    assert (
        f"environment staging is locked by deploy (pid {procs[winner].pid} on {winner}, rollout r-{winner})"
        in loser_out
    )
    assert "since 20" in loser_out and "UTC" in loser_out
    with Store(postgres_url, service="svc") as store:
        assert store.lock("staging") is None  # the winner released it
        assert store.events("staging") == []  # nobody took anything over


def test_a_silent_holder_is_taken_over_after_the_ttl_never_by_pid(postgres_url: str) -> None:
    """On a shared store another runner may have this host's name and a pid that is not alive here: only the
    heartbeat's age frees a lock; the takeover is reported and recorded."""
    clock = FakeClock()
    store = Store(postgres_url, service="svc", lock_ttl=45.0)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ghost = EnvironmentLock(store, "production", Owner("deploy:ghost@ci", "runner-7", dead.pid), clock)
    ghost.acquire("r-ghost")
    clock.now += 30
    ghost.heartbeat()
    me = EnvironmentLock(store, "production", Owner("deploy:me@ci", "runner-7", os.getpid()), clock)
    clock.now += 44
    with pytest.raises(LockHeld, match=r"pid \d+ on runner-7, rollout r-ghost\), held for 74s"):
        me.acquire()
    clock.now += 2
    me.acquire("r-me")
    described = me.describe_replaced()
    assert described is not None and "took over a stale lock of deploy" in described
    assert (
        "on runner-7, rollout r-ghost" in described and "last heartbeat 46s ago, longer than 45s" in described
    )
    (event,) = store.events("production")
    assert event["kind"] == "lock_taken_over" and event["rollout_id"] == "r-ghost"
    ghost.heartbeat()
    assert ghost.lost  # the old holder finds out at its next heartbeat
    me.release()
    assert store.lock("production") is None


def runner(tmp: Path, url: str, clock: FakeClock, cloud: Rig | None = None) -> Rig:
    """A CI runner: its own (soon gone) working directory, the team's store, and the one platform."""
    rig = Rig(tmp, clock=clock)
    rig.store.close()
    rig.store = Store(url, service="svc")
    if cloud is None:
        rig.platform.add_serving(OLD)
    else:
        rig.platform, rig.prober = cloud.platform, cloud.prober
    return rig


async def killed_while_holding(a: Rig) -> str:
    """Runner A starts a canary and dies (kill -9: no release, no more heartbeats) while 10 % is on it."""
    lock = EnvironmentLock(a.store, "local", Owner("deploy:1@runner-a:x", "runner-a", 1), a.clock)
    lock.acquire()
    rollout = new_deploy(
        a.store, service="svc", environment="local", steps=STEPS, clock=a.clock, token="kkkk"
    )
    engine = a.engine(rollout)
    while engine.state.phase is not Phase.HOLDING:
        await engine.advance()
        lock.heartbeat(rollout.id)
        a.clock.now += 0.5
    assert (await a.platform.traffic()).weights == {rollout.revision: 10, OLD: 90}
    a.store.close()
    shutil.rmtree(a.tmp)
    return rollout.revision


async def test_a_runner_killed_mid_canary_is_resumed_from_a_fresh_machine(
    postgres_url: str, tmp_path: Path
) -> None:
    """Runner B has nothing local: it finds the rollout in the shared store, waits out A's lock (exit 3 until
    the TTL passed), resumes and promotes."""
    clock = FakeClock()
    a = runner(tmp_path / "a", postgres_url, clock)
    revision = await killed_while_holding(a)
    b = runner(tmp_path / "b", postgres_url, clock, cloud=a)
    lock = EnvironmentLock(b.store, "local", Owner("deploy:2@runner-b:y", "runner-b", 2), clock)
    with pytest.raises(LockHeld, match="on runner-a"):
        lock.acquire()
    clock.now += b.store.lock_ttl + 1
    lock.acquire()
    found = unfinished(b.store, "local")
    assert found.revision == revision and found.phase is Phase.HOLDING
    engine = b.engine(found)
    await engine.resume()
    final = await run_to_rest(engine, clock, clock.sleep)
    assert final.phase is Phase.PROMOTED
    assert (await b.platform.traffic()).weights == {revision: 100} and b.platform.ready[revision]
    assert b.store.active_rollout("local") is None
    lock.release()


async def test_a_runner_killed_mid_canary_is_rolled_back_from_a_fresh_machine(
    postgres_url: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    a = runner(tmp_path / "a", postgres_url, clock)
    revision = await killed_while_holding(a)
    b = runner(tmp_path / "b", postgres_url, clock, cloud=a)
    engine = b.engine(unfinished(b.store, "local"))
    await engine.abort("keel rollback from another runner")
    final = await run_to_rest(engine, clock, clock.sleep)
    assert final.phase is Phase.ROLLED_BACK
    assert (await b.platform.traffic()).weights == {OLD: 100} and b.platform.ready[OLD]
    assert b.store.revision_status("local", revision) == "aborted"
    assert b.store.active_rollout("local") is None


def test_a_lock_taken_in_github_actions_names_the_workflow_run(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keel.rollout.guards import this_process

    clock = FakeClock()
    store = Store(postgres_url, service="svc")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_RUN_ID", "987654")
    monkeypatch.setenv("GITHUB_REPOSITORY", "bayit/bayit-plus")
    EnvironmentLock(store, "staging", this_process("deploy", "aaaa"), clock).acquire("r-1")
    monkeypatch.setenv("GITHUB_RUN_ID", "987655")
    with pytest.raises(LockHeld) as info:
        EnvironmentLock(store, "staging", this_process("deploy", "bbbb"), clock).acquire()
    assert "locked by deploy in GitHub Actions run bayit/bayit-plus#987654 (pid " in str(info.value)
