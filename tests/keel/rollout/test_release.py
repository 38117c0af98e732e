"""Releases from Python through keel.rollout.release, without the CLI: the operations a user performs and
what they return, on the memory platform (fake clock) and end to end on the real local platform."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.analysis.base import Look, Outcome
from keel.notify.base import Event
from keel.platforms.base import PlatformError
from keel.rollout.errors import LockHeld, LockLost, NothingToResume
from keel.rollout.guards import EnvironmentLock, Owner
from keel.rollout.phases import Cause, Kind, Phase
from keel.rollout.release import Release, RollbackDeclined
from keel.rollout.report import RollbackPlan
from keel.rollout.state import Rollout
from keel.rollout.wiring import Wiring, local_platform
from keel.spec import KeelSpec, load_spec
from keel.store import LockInfo
from keel.yamlfile import parse_yaml
from tests.keel.cli.releases import Load, free_port, write_spec
from tests.keel.rollout.fakes import SETTINGS, Rig

OLD = "svc-00000-old"

SPEC = """\
service: svc
environments:
  test: {platform: memory}
strategy: {canary: {steps: [{weight: 10, hold: 60s}, {weight: 50, hold: 60s}, {weight: 100}]}}
"""


def memory_spec(tmp_path: Path) -> KeelSpec:
    from keel.spec import parse_spec

    return parse_spec(parse_yaml(SPEC, str(tmp_path / "keel.yaml")))


class Recorder:
    """An observer that keeps what it was shown."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.phases: list[Phase] = []
        self.warnings: list[str] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_tick(self, rollout: Rollout) -> None:
        self.phases.append(rollout.phase)

    def on_warning(self, message: str) -> None:
        self.warnings.append(message)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    r.platform.add_serving(OLD)
    yield r
    r.store.close()


def release(rig: Rig, tmp_path: Path, observer: Recorder | None = None) -> Release:
    wiring = Wiring(rig.store, rig.platform, SETTINGS, rig.prober, rig.smoke, rig.make_analyzer)  # type: ignore[arg-type]
    return Release(
        memory_spec(tmp_path),
        "test",
        observer=observer,
        wiring=wiring,
        clock=rig.clock,
        sleeper=rig.clock.sleep,
    )


async def test_deploy_returns_a_typed_report_and_the_observer_sees_the_release(
    rig: Rig, tmp_path: Path
) -> None:
    seen = Recorder()
    report = await release(rig, tmp_path, seen).deploy(revision_env={"FEATURE": "on"})
    assert report.phase is Phase.PROMOTED and report.exit_code == 0
    assert report.rollout.previous == OLD and report.rollout.revision_env == {"FEATURE": "on"}
    assert [p.weight for p in report.traffic] == [0, 10, 50, 100]
    assert [look.outcome for look in report.looks] == ["pass"] * len(report.looks) and report.looks
    assert Phase.HOLDING in seen.phases and seen.phases[-1] is Phase.PROMOTED
    assert [e.kind for e in seen.events][:2] == ["deploying", "health_gate"]
    assert (await rig.platform.traffic()).weights == {report.rollout.revision: 100}
    assert rig.store.lock("test") is None  # released


async def test_a_failing_canary_is_rolled_back_and_reported(rig: Rig, tmp_path: Path) -> None:
    rig.outcome = lambda canary, look: Outcome.FAIL
    report = await release(rig, tmp_path).deploy()
    assert report.phase is Phase.ROLLED_BACK and report.exit_code == 1
    assert report.rollout.failed_by is Cause.ANALYSIS and report.cause is not None
    assert report.rollback is not None and report.rollback.target == OLD and report.rollback.verified
    assert (await rig.platform.traffic()).weights == {OLD: 100}


async def test_the_lock_of_another_live_keel_is_refused_with_exit_3(rig: Rig, tmp_path: Path) -> None:
    import os
    import socket

    other = Owner(f"deploy:{os.getpid()}@{socket.gethostname()}:other", socket.gethostname(), os.getpid())
    EnvironmentLock(rig.store, "test", other, rig.clock).acquire()
    with pytest.raises(LockHeld) as caught:
        await release(rig, tmp_path).deploy()
    assert caught.value.exit_code == 3
    assert rig.store.rollouts("test") == []  # nothing started


async def test_stop_requested_mid_canary_rolls_back_instead_of_leaving_traffic_split(
    rig: Rig, tmp_path: Path
) -> None:
    r = release(rig, tmp_path)

    def decide(canary: str, look: Look) -> Outcome:
        r.request_stop()  # as if Ctrl-C arrived during the first look
        return Outcome.PASS

    rig.outcome = decide
    report = await r.deploy()
    assert report.phase is Phase.ROLLED_BACK and report.rollout.failed_by is Cause.ABORTED
    assert report.cause == "aborted by the operator (interrupt)"
    assert (await rig.platform.traffic()).weights == {OLD: 100}


async def test_a_lock_taken_over_mid_canary_stops_this_runner_without_touching_traffic(
    rig: Rig, tmp_path: Path
) -> None:
    # this runner was presumed dead (silent past the lock's TTL) and another took the environment over during
    # the first look: at its next step it must neither roll back nor promote nor write the record, which are
    # the new holder's now
    r = release(rig, tmp_path)
    intruder = Owner("rollback:ci-7", "runner-7", 4242)

    def decide(canary: str, look: Look) -> Outcome:
        now = rig.clock()
        info = LockInfo("test", intruder.id, intruder.host, intruder.pid, now, now, None)
        taken, _ = rig.store.try_lock(info, lambda held: True)  # as if its heartbeat were older than the TTL
        assert taken
        return Outcome.PASS

    rig.outcome = decide
    with pytest.raises(LockLost) as caught:
        await r.deploy()
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "the lock of test was taken over by rollback (pid 4242 on runner-7)" in message
    assert "without touching traffic or the record" in message
    (rollout,) = rig.store.rollouts("test")
    assert rollout.phase == Phase.HOLDING.value  # the record as the look left it: not aborted, not promoted
    weights = (await rig.platform.traffic()).weights
    assert weights[OLD] == 90 and sum(weights.values()) == 100  # the canary's 10 %, left to the new holder
    held = rig.store.lock("test")
    assert held is not None and held.owner == intruder.id  # ending did not release the new holder's lock


async def test_an_unexpected_error_mid_canary_rolls_back_once(rig: Rig, tmp_path: Path) -> None:
    seen = Recorder()
    r = release(rig, tmp_path, seen)

    def decide(canary: str, look: Look) -> Outcome:
        raise RuntimeError("analyzer bug")

    rig.outcome = decide
    report = await r.deploy()
    assert report.phase is Phase.ROLLED_BACK and report.rollout.failed_by is Cause.ABORTED
    assert "aborted after an error: analyzer bug" in (report.cause or "")
    assert any("RuntimeError: analyzer bug; rolling back" in w for w in seen.warnings)


async def test_paused_release_is_aborted_or_resumed(rig: Rig, tmp_path: Path) -> None:
    from dataclasses import replace

    rig.settings = replace(SETTINGS, on_inconclusive="pause")
    rig.outcome = lambda canary, look: Outcome.INCONCLUSIVE
    wiring = Wiring(rig.store, rig.platform, rig.settings, rig.prober, rig.smoke, rig.make_analyzer)  # type: ignore[arg-type]
    make = lambda: Release(  # noqa: E731
        memory_spec(tmp_path), "test", wiring=wiring, clock=rig.clock, sleeper=rig.clock.sleep
    )
    paused = await make().deploy()
    assert paused.phase is Phase.PAUSED and paused.exit_code == 4
    aborted = await make().abort("giving up on this one")
    assert aborted.phase is Phase.ROLLED_BACK and aborted.exit_code == 0
    assert aborted.rollout.failed_by is Cause.ABORTED and aborted.cause == "giving up on this one"
    assert (await rig.platform.traffic()).weights == {OLD: 100}
    with pytest.raises(NothingToResume):
        await make().abort()

    paused = await make().deploy()
    rig.outcome = lambda canary, look: Outcome.PASS
    resumed = await make().deploy(resume=True)
    assert resumed.rollout.id == paused.rollout.id and resumed.phase is Phase.PROMOTED


async def test_rollback_plans_asks_and_switches(rig: Rig, tmp_path: Path) -> None:
    rig.store.record_serving("test", OLD, rig.clock(), None, "served before keel")
    promoted = await release(rig, tmp_path).deploy()
    plan = await release(rig, tmp_path).plan_rollback()
    assert plan.action == "switch" and plan.target == OLD and plan.serving == promoted.rollout.revision
    assert [c.revision for c in plan.candidates] == [OLD]

    asked: list[RollbackPlan] = []

    def decline(p: RollbackPlan) -> bool:
        asked.append(p)
        return False

    with pytest.raises(RollbackDeclined):
        await release(rig, tmp_path).rollback(confirm=decline)
    assert asked[0].describe().startswith(f"all traffic in test to {OLD}")
    assert (await rig.platform.traffic()).weights == {promoted.rollout.revision: 100}  # nothing changed

    report = await release(rig, tmp_path).rollback(confirm=lambda p: True)
    assert report.rollout.kind is Kind.ROLLBACK and report.phase is Phase.ROLLED_BACK
    assert report.exit_code == 0 and report.action == "switch"
    assert (await rig.platform.traffic()).weights == {OLD: 100}
    status = await release(rig, tmp_path).status()
    assert status.traffic == {OLD: 100} and status.unfinished is None
    assert [r.kind for r in status.recent] == [Kind.ROLLBACK, Kind.DEPLOY]


async def test_a_refused_platform_operation_is_reported_not_raised(rig: Rig, tmp_path: Path) -> None:
    rig.platform.failing["deploy"] = PlatformError("memory platform: no capacity")
    report = await release(rig, tmp_path).deploy()
    assert report.phase is Phase.FAILED and report.exit_code == 1
    assert report.rollout.reason == "deploy failed: memory platform: no capacity"


@pytest.mark.slow
async def test_a_canary_released_from_python_end_to_end(tmp_path: Path) -> None:
    """The library API on the real local platform: revision processes, the router, HTTP load, the router's
    metrics and the threshold and comparison judges; no CLI anywhere."""
    port = free_port()
    spec = load_spec(
        write_spec(
            tmp_path,
            port,
            "{canary: {steps: [{weight: 10, hold: 3s}, {weight: 50, hold: 2s}, {weight: 100}]}}",
        )
    )
    seen = Recorder()
    try:
        first = await Release(spec, "local", observer=seen).deploy(revision_env={"REVISION": "one"})
        assert first.phase is Phase.PROMOTED and first.rollout.first_deploy
        with Load(f"http://127.0.0.1:{port}"):
            good = await Release(spec, "local", observer=seen).deploy(revision_env={"REVISION": "two"})
            bad = await Release(spec, "local", observer=seen).deploy(
                revision_env={"REVISION": "three", "ERROR_RATE": "0.5"}
            )
        assert good.phase is Phase.PROMOTED and good.rollout.previous == first.rollout.revision
        assert [p.weight for p in good.traffic] == [0, 10, 50, 100]
        assert any(look.outcome == "pass" for look in good.looks)
        assert bad.phase is Phase.ROLLED_BACK and bad.rollout.failed_by is Cause.ANALYSIS, bad.to_json()[
            "verdicts"
        ]
        assert (
            bad.rollback is not None
            and bad.rollback.verified
            and bad.rollback.target == good.rollout.revision
        )
        last = bad.last_look
        assert last is not None and last.verdict.canary is not None and last.verdict.canary.errors > 0
        status = await Release(spec, "local").status()
        assert status.traffic == {good.rollout.revision: 100}
        assert {e.kind for e in seen.events} >= {"deploying", "promoted", "rolling_back", "rolled_back"}
        plans = [e.message for e in seen.events if e.kind == "plan"]  # printed before each canary starts
        assert plans and plans[0].startswith("analysis plan at") and "step 1 (10 %, hold 3s)" in plans[0]
    finally:
        await local_platform(spec, "local", auto_start=False).stop()
        await asyncio.sleep(0)


async def test_plan_deploy_lists_the_calls_and_changes_nothing(rig: Rig, tmp_path: Path) -> None:
    plan = await release(rig, tmp_path).plan_deploy(revision_env={"SECRET_KEY": "hunter2"}, image="img:2")
    assert plan.serving == OLD and plan.traffic == {OLD: 100}
    operations = [c.operation for c in plan.calls]
    assert operations == ["deploy", "health gate", "smoke gate", "set traffic", "set traffic", "set traffic",
                          "rollback", "promote"]  # fmt: skip
    assert plan.calls[3].detail == "svc-00000-old 90%, svc-00001-<id> 10%; hold 60s with analysis"
    data = plan.to_json()
    assert data["revision_env"] == ["SECRET_KEY"] and "hunter2" not in str(data) + plan.to_markdown()
    assert any(n.startswith("no analysis plan: traffic of svc-00000-old unavailable") for n in plan.notes)
    assert rig.store.rollouts("test") == [] and await rig.platform.revisions() == [
        r for r in await rig.platform.revisions() if r.name == OLD
    ]


def test_dry_run_of_the_cli_starts_and_writes_nothing(tmp_path: Path) -> None:
    import json

    from tests.keel.cli.releases import keel

    write_spec(tmp_path, free_port(), "canary")
    proc = keel("deploy", "--dry-run", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["schema"] == "keel.plan/v1" and plan["calls"][0]["operation"] == "deploy"
    assert not (tmp_path / ".keel").exists()


async def test_the_analysis_plan_reads_the_serving_revisions_traffic(rig: Rig, tmp_path: Path) -> None:
    from keel.analysis.sources.memory import MemorySource

    source = MemorySource()
    for second in range(0, 300, 1):
        source.record(OLD, rig.clock() - second, latencies=[0.02] * 2)  # 2 req/s over the last five minutes

    class Routed(type(rig.platform)):  # type: ignore[misc]
        async def window(self, revision: str, start: float, end: float) -> object:
            return await source.window(revision, start, end)

    rig.platform.__class__ = Routed
    plan, why = await release(rig, tmp_path).analysis_plan(rig.platform, OLD)
    assert plan is not None, why
    assert round(plan.request_rate, 1) == 2.0
    first = plan.steps[0]
    assert first.weight == 10 and round(first.canary_rate, 2) == 0.2
    assert first.canary_requests < 100 and not first.hold_suffices  # 0.2 req/s for 60 s: too few to judge
    assert plan.warnings and plan.warnings[0].startswith("step 1:")
