"""The engine ticked with a fake clock on the in-memory platform: every phase, gate, verdict and rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.analysis.base import AnalysisError, Look, Outcome, Verdict
from keel.platforms.base import PlatformError, RevisionState
from keel.rollout.engine import EngineSettings
from keel.rollout.gates import GateResult
from keel.rollout.phases import Cause, Phase
from keel.rollout.report import build_report
from keel.rollout.runner import new_deploy, new_rollback, run_to_rest
from keel.rollout.state import Rollout
from tests.keel.rollout.fakes import SETTINGS, STEPS, Rig

OLD = "svc-00000-old"


def deploy(rig: Rig, token: str = "abcdefgh") -> Rollout:
    return new_deploy(
        rig.store, service="svc", environment="local", steps=STEPS, clock=rig.clock, token=token,
        revision_env={"FEATURE": "on"},
    )  # fmt: skip


async def run(rig: Rig, rollout: Rollout) -> Rollout:
    return await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    r = Rig(tmp_path)
    r.platform.add_serving(OLD)
    return r


async def test_good_canary_is_promoted_through_every_step(rig: Rig) -> None:
    rollout = deploy(rig)
    final = await run(rig, rollout)
    assert final.phase is Phase.PROMOTED
    new = rollout.revision
    assert new == "svc-00001-abc"
    assert [w for _, w in rig.platform.history] == [{new: 10, OLD: 90}, {new: 50, OLD: 50}, {new: 100}]
    assert rig.phases(rollout.id) == [
        "pending", "deploying", "health_gate", "smoke_gate", "shifting", "holding",
        "shifting", "holding", "shifting", "holding", "promoting", "promoted",
    ]  # fmt: skip
    assert final.previous == OLD
    assert rig.smoke.urls == [f"http://{new}.memory.invalid"]
    # looks at 20s, 40s and 60s in each of the two held steps; the last step has no hold
    assert [(look.step, look.look) for _, _, look in rig.analyzer.looks] == [
        (0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)
    ]  # fmt: skip
    assert all(baseline == OLD for _, baseline, _ in rig.analyzer.looks)
    assert rig.baselines == [True]
    assert [d["outcome"] for d in rig.store.deployments("local")] == ["promoted"]
    assert [s.revision for s in rig.store.serving_history("local")] == [new]
    assert rig.store.lock("local") is None
    assert len(rig.store.verdicts(rollout.id)) == 6


async def test_health_gate_needs_consecutive_passes(rig: Rig) -> None:
    rollout = deploy(rig)
    engine = rig.engine(rollout)
    for _ in range(2):
        await engine.advance()  # pending -> deploying -> health_gate
    assert engine.state.phase is Phase.HEALTH_GATE
    name = rollout.revision
    pattern = [True, True, False, True, True, True]
    for ready in pattern:
        rig.platform.ready[name] = ready
        await engine.advance()
        rig.clock.now += 1
    assert engine.state.phase is Phase.SMOKE_GATE
    assert len(rig.prober.probes) == 6


async def test_advance_is_a_no_op_until_the_next_probe_is_due(rig: Rig) -> None:
    engine = rig.engine(deploy(rig))
    for _ in range(2):
        await engine.advance()
    assert engine.state.phase is Phase.HEALTH_GATE
    before = len(rig.prober.probes)
    await engine.advance()
    await engine.advance()
    await engine.advance()
    assert len(rig.prober.probes) == before + 1
    assert engine.state.gate_passes == 1


async def test_revision_that_crashes_at_start_fails_health_gate_and_no_traffic_moves(rig: Rig) -> None:
    rollout = deploy(rig)
    engine = rig.engine(rollout)
    await engine.advance()
    await engine.advance()
    rig.platform.set_state(rollout.revision, RevisionState.FAILED, "exited with code 3")
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.FAILED
    assert final.failed_by == "health"
    assert "exited with code 3" in final.reason and "no traffic was moved" in final.reason
    assert rig.platform.history == []
    assert (await rig.platform.traffic()).single == OLD
    assert rig.store.revision_status("local", rollout.revision) == "aborted"
    assert rollout.revision in rig.platform.removed
    assert [d["outcome"] for d in rig.store.deployments("local")] == ["failed"]


async def test_revision_never_ready_fails_at_the_startup_deadline(rig: Rig) -> None:
    rollout = deploy(rig)
    rig.platform.ready[rollout.revision] = False
    start = rig.clock.now
    final = await run(rig, rollout)
    assert final.phase is Phase.FAILED
    assert "not ready within 30s" in final.reason and "HTTP 503" in final.reason
    assert 30 <= rig.clock.now - start <= 32
    assert rig.platform.history == []


async def test_smoke_gate_failure_stops_before_any_user_traffic(rig: Rig) -> None:
    rig.smoke.passed = False
    rollout = deploy(rig)
    final = await run(rig, rollout)
    assert final.phase is Phase.FAILED
    assert final.failed_by == "smoke"
    assert "expected 401, got 200" in final.reason
    assert rig.platform.history == []
    assert (await rig.platform.traffic()).weights == {OLD: 100}
    assert rig.analyzer.looks == []


async def test_failed_analysis_at_ten_percent_rolls_back_to_the_serving_revision(rig: Rig) -> None:
    rig.outcome = lambda canary, look: Outcome.FAIL if look.look == 2 else Outcome.PASS
    rollout = deploy(rig)
    final = await run(rig, rollout)
    assert final.phase is Phase.ROLLED_BACK
    assert final.failed_by == "analysis"
    assert final.reason.startswith(f"{OLD} serves 100% and is ready")
    assert [w for _, w in rig.platform.history] == [{rollout.revision: 10, OLD: 90}, {OLD: 100}]
    assert final.fail_at is not None and final.switched_at == final.fail_at  # same instant on the fake clock
    assert rig.store.revision_status("local", rollout.revision) == "aborted"
    assert rollout.revision in rig.platform.removed
    deployments = rig.store.deployments("local")
    assert [(d["outcome"], d["rolled_back"]) for d in deployments] == [("rolled_back", True)]
    assert "rolling_back" in rig.phases(rollout.id)
    kinds = [e.kind for e in rig.events]
    assert kinds.index("rolling_back") < kinds.index("verifying") < kinds.index("rolled_back")


async def test_inconclusive_extends_the_hold_then_passes(rig: Rig) -> None:
    calls = {"n": 0}

    def decide(canary: str, look: Look) -> Outcome:
        calls["n"] += 1
        if look.step == 0 and look.look <= 4:
            return Outcome.INCONCLUSIVE
        return Outcome.PASS

    rig.outcome = decide
    final = await run(rig, deploy(rig))
    assert final.phase is Phase.PROMOTED
    step0 = [look for _, _, look in rig.analyzer.looks if look.step == 0]
    assert [look.look for look in step0] == [1, 2, 3, 4, 5]
    assert step0[-1].hold_seconds == 60 + 20 * 2  # extended twice by the look interval


@pytest.mark.parametrize(("policy", "phase"), [("fail", Phase.ROLLED_BACK), ("pause", Phase.PAUSED)])
async def test_inconclusive_past_the_extra_hold_follows_the_policy(
    rig: Rig, policy: str, phase: Phase
) -> None:
    rig.settings = EngineSettings(**{**SETTINGS.__dict__, "on_inconclusive": policy})
    rig.outcome = lambda canary, look: Outcome.INCONCLUSIVE
    rollout = deploy(rig)
    final = await run(rig, rollout)
    assert final.phase is phase
    assert "still inconclusive after 100s at 10%" in final.reason or phase is Phase.ROLLED_BACK
    if phase is Phase.PAUSED:
        assert (await rig.platform.traffic()).weights == {rollout.revision: 10, OLD: 90}
        assert rig.store.active_rollout("local") is not None
        # a human resumes: the step is re-entered from the platform's actual traffic and now passes
        rig.outcome = lambda canary, look: Outcome.PASS
        engine = rig.engine(rig.reload(rollout.id))
        assert (await engine.resume()).phase is Phase.SHIFTING
        done = await run_to_rest(engine, rig.clock, rig.clock.sleep)
        assert done.phase is Phase.PROMOTED
        # the report of the promoted rollout does not blame the pause it recovered from
        assert build_report(rig.store, done).cause is None
    else:
        assert build_report(rig.store, final).cause.startswith("analysis still inconclusive")
        assert final.failed_by == "inconclusive"
        assert (await rig.platform.traffic()).weights == {OLD: 100}


async def test_rollback_verification_failure_ends_in_rollback_failed(rig: Rig) -> None:
    rig.outcome = lambda canary, look: Outcome.FAIL
    rollout = deploy(rig)
    engine = rig.engine(rollout)
    while engine.state.phase is not Phase.ROLLING_BACK:
        await engine.advance()
        rig.clock.now += 1
    rig.platform.ready[OLD] = False
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.ROLLBACK_FAILED
    assert "not ready" in final.reason and "a human is needed" in final.reason
    assert (await rig.platform.traffic()).weights == {OLD: 100}
    assert rig.events[-1].severity.value == "critical"


async def test_platform_refusing_a_traffic_change_rolls_back(rig: Rig) -> None:
    rollout = deploy(rig)
    engine = rig.engine(rollout)
    while engine.state.phase is not Phase.SHIFTING:
        await engine.advance()
        rig.clock.now += 1
    rig.platform.failing["set_traffic"] = PlatformError("router refused")
    await engine.advance()
    assert engine.state.phase is Phase.ROLLING_BACK
    del rig.platform.failing["set_traffic"]
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.ROLLED_BACK
    assert (await rig.platform.traffic()).weights == {OLD: 100}


async def test_first_deploy_has_no_rollback_target_and_says_so(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rollout = deploy(rig)
    final = await run(rig, rollout)
    assert final.phase is Phase.PROMOTED
    assert final.first_deploy and final.previous is None
    assert [w for _, w in rig.platform.history] == [{rollout.revision: 100}]
    assert any("first deploy" in e.message and "no rollback target" in e.message for e in rig.events)


async def test_first_deploy_failing_after_traffic_cannot_roll_back(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rollout = new_deploy(
        rig.store, service="svc", environment="local", steps=(*STEPS[:1], STEPS[2].model_copy(update={"hold": 60})),
        clock=rig.clock, token="zzzzzzzz",
    )  # fmt: skip
    rig.outcome = lambda canary, look: Outcome.FAIL
    final = await run(rig, rollout)
    assert final.phase is Phase.ROLLBACK_FAILED
    assert "first deploy: there is no previous revision to roll back to" in final.reason
    assert (await rig.platform.traffic()).weights == {rollout.revision: 100}


async def test_split_traffic_without_a_rollout_is_refused_before_deploying(rig: Rig) -> None:
    other = rig.platform.add_serving("svc-00000-oth")
    rig.platform.add_serving(OLD)
    await rig.platform.set_traffic({OLD: 70, other.name: 30})
    final = await run(rig, deploy(rig))
    assert final.phase is Phase.FAILED
    assert "traffic is split" in final.reason and "keel rollback" in final.reason
    assert len(await rig.platform.revisions()) == 2


async def test_manual_rollback_never_triggers_an_automatic_one(rig: Rig) -> None:
    promoted = await run(rig, deploy(rig))
    assert promoted.phase is Phase.PROMOTED
    rig.platform.ready[OLD] = False
    manual = new_rollback(
        rig.store, service="svc", environment="local", target=OLD, serving=promoted.revision, clock=rig.clock
    )
    final = await run(rig, manual)
    assert final.phase is Phase.ROLLBACK_FAILED
    # traffic stays where the human put it: no switch back to the revision rolled back from
    assert [w for _, w in rig.platform.history][-1] == {OLD: 100}
    assert (await rig.platform.traffic()).weights == {OLD: 100}
    assert rig.store.deployments("local")[-1]["outcome"] == "promoted"  # the manual one is not a deployment


async def test_manual_rollback_verified_records_the_serving_revision(rig: Rig) -> None:
    promoted = await run(rig, deploy(rig))
    manual = new_rollback(
        rig.store, service="svc", environment="local", target=OLD, serving=promoted.revision, clock=rig.clock
    )
    final = await run(rig, manual)
    assert final.phase is Phase.ROLLED_BACK
    assert [s.revision for s in rig.store.serving_history("local")][:2] == [OLD, promoted.revision]
    assert rig.store.revision_status("local", promoted.revision) == "rolled_back"


# --- error paths: what the engine does when a part refuses, and what it says -------------------------------


async def test_platform_refusing_the_deploy_fails_the_release_with_its_message(rig: Rig) -> None:
    rig.platform.failing["deploy"] = PlatformError("memory platform: quota exceeded for revisions")
    final = await run(rig, deploy(rig))
    assert final.phase is Phase.FAILED and final.failed_by is Cause.DEPLOY
    assert final.reason == "deploy failed: memory platform: quota exceeded for revisions"
    assert (await rig.platform.traffic()).weights == {OLD: 100}
    assert rig.store.deployments("local")[-1]["outcome"] == "failed"


async def test_a_smoke_gate_that_raises_fails_the_gate_never_passes_it(rig: Rig) -> None:
    async def broken(base_url: str) -> GateResult:
        raise RuntimeError("suite file vanished")

    rig.smoke.run = broken  # type: ignore[method-assign]
    final = await run(rig, deploy(rig))
    assert final.phase is Phase.FAILED and final.failed_by is Cause.SMOKE
    assert "smoke gate error: RuntimeError: suite file vanished" in final.reason
    assert final.smoke is not None and final.smoke["passed"] is False
    assert (await rig.platform.traffic()).weights == {OLD: 100}
    assert rig.platform.removed == [final.revision]  # aborted revisions are removed


async def test_metrics_unavailable_is_inconclusive_and_ends_by_the_policy(rig: Rig) -> None:
    class Down:
        async def analyze(self, canary: str, baseline: str | None, look: Look) -> Verdict:
            raise AnalysisError("prometheus at http://127.0.0.1:9: connection refused")

    rig.analyzer = Down()  # type: ignore[assignment]
    final = await run(rig, deploy(rig))
    assert final.phase is Phase.ROLLED_BACK and final.failed_by is Cause.INCONCLUSIVE
    verdicts = rig.store.verdicts(final.id)
    assert verdicts and all(v["outcome"] == "inconclusive" for v in verdicts)
    assert verdicts[0]["verdict"]["summary"].startswith("metrics unavailable: prometheus at")
    assert (await rig.platform.traffic()).weights == {OLD: 100}


async def test_rollback_retries_then_gives_up_and_says_a_human_is_needed(rig: Rig) -> None:
    rig.outcome = lambda canary, look: Outcome.FAIL
    engine = rig.engine(deploy(rig))
    while engine.state.phase is not Phase.ROLLING_BACK:
        await engine.advance()
        rig.clock.now += 1
    rig.platform.failing["set_traffic"] = PlatformError("memory platform: API unavailable")
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.ROLLBACK_FAILED
    assert final.reason == f"rollback to {OLD} failed: memory platform: API unavailable"
    reasons = [t["reason"] for t in rig.store.transitions(final.id)]
    assert reasons[-1] == final.reason
    assert rig.events[-1].severity.value == "critical"
    row = rig.store.deployments("local")[-1]
    assert row["outcome"] == "rollback_failed"


async def test_a_promotion_the_platform_refuses_is_retried_then_rolled_back(rig: Rig) -> None:
    engine = rig.engine(deploy(rig))
    while engine.state.phase is not Phase.PROMOTING:
        await engine.advance()
        rig.clock.now += 1
    rig.platform.failing["traffic"] = PlatformError("memory platform: 503 backend unavailable")
    await engine.advance()
    assert engine.state.phase is Phase.PROMOTING  # retried, not lost
    assert engine.next_wake() > rig.clock.now
    rig.clock.now += 1
    await engine.advance()
    assert engine.state.phase is Phase.PROMOTING
    rig.clock.now += SETTINGS.rollback.deadline
    await engine.advance()
    assert engine.state.phase is Phase.ROLLING_BACK and engine.state.failed_by is Cause.PLATFORM
    assert "promotion to 100% failed" in engine.state.reason
    del rig.platform.failing["traffic"]
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.ROLLED_BACK
    assert (await rig.platform.traffic()).weights == {OLD: 100}


async def test_a_promotion_refused_once_completes_on_the_retry(rig: Rig) -> None:
    engine = rig.engine(deploy(rig))
    while engine.state.phase is not Phase.PROMOTING:
        await engine.advance()
        rig.clock.now += 1
    rig.platform.failing["traffic"] = PlatformError("memory platform: 409 conflict")
    await engine.advance()
    assert engine.state.phase is Phase.PROMOTING
    del rig.platform.failing["traffic"]
    final = await run_to_rest(engine, rig.clock, rig.clock.sleep)
    assert final.phase is Phase.PROMOTED
    assert (await rig.platform.traffic()).weights == {final.revision: 100}
