"""Killed between any two steps, a rollout resumes (or is rolled back) to traffic on one healthy revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.analysis.base import Outcome
from keel.rollout.errors import NothingToResume, UnfinishedRollout
from keel.rollout.phases import Phase
from keel.rollout.runner import new_deploy, run_to_rest, unfinished
from keel.rollout.state import Rollout
from tests.keel.rollout.fakes import STEPS, Rig

OLD = "svc-00000-old"
KILL_POINTS = [
    Phase.PENDING, Phase.DEPLOYING, Phase.HEALTH_GATE, Phase.SMOKE_GATE, Phase.SHIFTING, Phase.HOLDING,
    Phase.PROMOTING,
]  # fmt: skip


def make_rig(tmp_path: Path) -> Rig:
    rig = Rig(tmp_path)
    rig.platform.add_serving(OLD)
    return rig


async def run_until(rig: Rig, rollout: Rollout, phase: Phase, skip: int = 0) -> str:
    """Advance a first engine until ``phase`` is persisted (the ``skip``-th time), then drop it: a kill -9."""
    engine = rig.engine(rollout)
    seen = 0
    while True:
        if engine.state.phase is phase:
            if seen == skip:
                return rollout.id
            seen += 1
        await engine.advance()
        rig.clock.now += 0.5
        assert not engine.state.phase.terminal, f"never reached {phase}"


def new(rig: Rig) -> Rollout:
    return new_deploy(
        rig.store, service="svc", environment="local", steps=STEPS, clock=rig.clock, token="kkkkkkkk"
    )


async def settled_on_one_healthy_revision(rig: Rig) -> str:
    split = await rig.platform.traffic()
    assert split.single is not None, split.weights
    assert rig.platform.ready[split.single]
    return split.single


@pytest.mark.parametrize("phase", KILL_POINTS, ids=[p.value for p in KILL_POINTS])
async def test_resume_after_kill_in_each_phase_promotes(tmp_path: Path, phase: Phase) -> None:
    rig = make_rig(tmp_path)
    rollout_id = await run_until(rig, new(rig), phase, skip=1 if phase is Phase.HOLDING else 0)
    resumed = rig.engine(unfinished(rig.store, "local"))
    await resumed.resume()
    final = await run_to_rest(resumed, rig.clock, rig.clock.sleep)
    assert final.id == rollout_id
    assert final.phase is Phase.PROMOTED
    assert await settled_on_one_healthy_revision(rig) == final.revision


@pytest.mark.parametrize("phase", KILL_POINTS[:-1], ids=[p.value for p in KILL_POINTS[:-1]])
async def test_rollback_after_kill_in_each_phase_restores_the_previous_revision(
    tmp_path: Path, phase: Phase
) -> None:
    rig = make_rig(tmp_path)
    await run_until(rig, new(rig), phase, skip=1 if phase is Phase.HOLDING else 0)
    engine = rig.engine(unfinished(rig.store, "local"))
    await engine.abort("keel rollback after an interrupted deploy")
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase in (Phase.FAILED, Phase.ROLLED_BACK)
    assert await settled_on_one_healthy_revision(rig) == OLD
    assert rig.store.revision_status("local", final.revision) in ("aborted", None)
    assert rig.store.active_rollout("local") is None


async def test_resume_reads_traffic_from_the_platform_not_the_record(tmp_path: Path) -> None:
    """Killed after the router changed weights but before the step was persisted."""
    rig = make_rig(tmp_path)
    rollout_id = await run_until(rig, new(rig), Phase.SHIFTING, skip=1)  # about to set 50 %
    record = rig.reload(rollout_id)
    await rig.platform.set_traffic({record.revision: 50, OLD: 50})  # the step the killed process did
    assert record.weight == 10
    engine = rig.engine(unfinished(rig.store, "local"))
    await engine.resume()
    assert any("traffic on the platform: " in e.message and "50%" in e.message for e in rig.events)
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.PROMOTED


async def test_resume_of_a_health_gate_after_the_revision_was_created(tmp_path: Path) -> None:
    """Killed after platform.deploy() returned but before DEPLOYING was left: no second revision is made."""
    rig = make_rig(tmp_path)
    rollout_id = await run_until(rig, new(rig), Phase.DEPLOYING)
    from keel.platforms.base import RevisionSpec

    await rig.platform.deploy(RevisionSpec(rig.reload(rollout_id).revision))
    engine = rig.engine(unfinished(rig.store, "local"))
    await engine.resume()
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.PROMOTED
    assert len(await rig.platform.revisions()) == 2


async def test_a_new_deploy_is_refused_while_one_is_unfinished(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rollout_id = await run_until(rig, new(rig), Phase.HOLDING)
    with pytest.raises(UnfinishedRollout) as info:
        new(rig)
    assert (
        rollout_id in str(info.value) and "--resume" in str(info.value) and "keel rollback" in str(info.value)
    )
    assert info.value.exit_code == 3


async def test_resume_with_nothing_unfinished_is_a_clear_error(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    with pytest.raises(NothingToResume, match="no unfinished rollout in environment local"):
        unfinished(rig.store, "local")


async def test_run_to_rest_stops_at_pause_and_never_spins(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    from keel.rollout.engine import EngineSettings
    from tests.keel.rollout.fakes import SETTINGS

    rig.settings = EngineSettings(**{**SETTINGS.__dict__, "on_inconclusive": "pause"})
    rig.outcome = lambda canary, look: Outcome.INCONCLUSIVE
    ticks: list[Phase] = []
    final = await run_to_rest(
        rig.engine(new(rig)), rig.clock, rig.clock.sleep, on_tick=lambda r: ticks.append(r.phase)
    )
    assert final.phase is Phase.PAUSED
    assert len(ticks) < 400  # sleeps until the next look instead of looping
