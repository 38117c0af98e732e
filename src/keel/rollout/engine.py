"""The rollout engine: ``advance()`` performs one step of a rollout and persists it before returning."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from keel.analysis.base import AnalysisError, Analyzer, Look, Outcome, Verdict
from keel.notify.base import Event, Severity
from keel.platforms.base import (
    Platform,
    PlatformError,
    Revision,
    RevisionSpec,
    RevisionState,
    split_text,
)
from keel.probing import Prober, join_url
from keel.rollout.errors import LockLost
from keel.rollout.gates import GateResult, SmokeGate
from keel.rollout.guards import ABORTED, EnvironmentLock
from keel.rollout.phases import Cause, Kind, Phase, before_traffic, check_transition
from keel.rollout.state import PlannedStep, Rollout
from keel.spec import HealthGate, RollbackPolicy
from keel.store import Store
from keel.types import Clock

Listener = Callable[[Event], None]
AnalyzerFactory = Callable[[bool], Analyzer]


@dataclass(frozen=True)
class EngineSettings:
    """What the spec decides about gates, looks and rollbacks (resolved once, before the rollout starts)."""

    health: HealthGate = field(default_factory=HealthGate)
    rollback: RollbackPolicy = field(default_factory=RollbackPolicy)
    look_interval: float = 30.0
    max_extra_hold: float = 600.0
    on_inconclusive: Literal["fail", "pause"] = "fail"
    keep_revisions: int | None = None


Step = tuple[Rollout, str]


class RolloutEngine:
    """Drives one rollout. Every ``advance()`` is one persisted transition (or a no-op when nothing is due),
    so a killed process leaves a record from which ``resume()`` continues."""

    def __init__(
        self,
        rollout: Rollout,
        *,
        store: Store,
        platform: Platform,
        prober: Prober,
        smoke: SmokeGate,
        analyzer: AnalyzerFactory,
        settings: EngineSettings,
        clock: Clock,
        listener: Listener | None = None,
        lock: EnvironmentLock | None = None,
    ) -> None:
        self.state = rollout
        self._store = store
        self._platform = platform
        self._prober = prober
        self._smoke = smoke
        self._analyzer_factory = analyzer
        self._analyzer: Analyzer | None = None
        self.settings = settings
        self._clock = clock
        self._listener = listener
        self._lock = lock
        self._handlers: dict[Phase, Callable[[Rollout, float], Awaitable[Step]]] = {
            Phase.PENDING: self._pending,
            Phase.DEPLOYING: self._deploying,
            Phase.HEALTH_GATE: self._health_gate,
            Phase.SMOKE_GATE: self._smoke_gate,
            Phase.SHIFTING: self._shifting,
            Phase.HOLDING: self._holding,
            Phase.PAUSED: self._paused,
            Phase.PROMOTING: self._promoting,
            Phase.ROLLING_BACK: self._rolling_back,
            Phase.VERIFYING: self._verifying,
        }

    # --- the public steps -------------------------------------------------------------------------------

    async def advance(self) -> Rollout:
        """Do the one step the current phase calls for (if it is due) and persist the result."""
        current = self.state
        if current.phase.terminal:
            return current
        if self._lock is not None:
            self._lock.heartbeat(current.id)
            if self._lock.lost:
                raise LockLost(self._lost_message(current))
        new, reason = await self._handlers[current.phase](current, self._clock())
        return self._commit(current, new, reason)

    def _lost_message(self, r: Rollout) -> str:
        holder = self._store.lock(r.environment)
        who = (
            "another keel process"
            if holder is None
            else f"{holder.owner.split(':')[0]} (pid {holder.pid} on {holder.host})"
        )
        return (
            f"the lock of {r.environment} was taken over by {who} while this process was silent for longer than "
            f"the lock's TTL; stopped in phase {r.phase.value} of rollout {r.id} without touching traffic or the "
            f"record: the new holder decides what happens to the release"
        )

    async def resume(self) -> Rollout:
        """After a restart: re-read the traffic from the platform and re-enter the current step safely."""
        r = self.state
        if r.phase.terminal:
            return r
        split = await self._platform.traffic()
        now = self._clock()
        note = f"resumed; traffic on the platform: {split_text(split.weights)}"
        self._emit("resumed", "Rollout resumed", note)
        if r.kind is Kind.DEPLOY and before_traffic(r.phase):
            if split.weights.get(r.revision, 0) > 0:
                return self._commit(r, replace(r, phase=Phase.ROLLING_BACK, fail_at=now), note)
            return self._commit(r, replace(r, gate_started=now, gate_passes=0, next_probe=now), note)
        if r.phase in (Phase.SHIFTING, Phase.HOLDING, Phase.PAUSED):
            return self._commit(
                r, replace(r, phase=Phase.SHIFTING), note + f"; re-entering step {r.step + 1}"
            )
        if r.phase is Phase.VERIFYING:
            return self._commit(r, replace(r, phase=Phase.ROLLING_BACK), note + "; re-applying the rollback")
        return self._commit(r, r, note)

    async def abort(self, reason: str) -> Rollout:
        """Stop the release: before traffic it fails the gate; with traffic it rolls back (never silently)."""
        r = self.state
        if r.phase.terminal or r.phase in (Phase.ROLLING_BACK, Phase.VERIFYING):
            return r
        if r.phase is Phase.PROMOTING and r.previous is None:
            return r  # a first deploy has nothing to go back to: its promotion completes
        now = self._clock()
        if r.kind is Kind.ROLLBACK:
            return r
        if before_traffic(r.phase):
            split = await self._platform.traffic()
            if split.weights.get(r.revision, 0) == 0:
                return self._commit(r, await self._fail_gate(r, now, Cause.ABORTED, reason), reason)
        return self._commit(
            r, replace(r, phase=Phase.ROLLING_BACK, failed_by=Cause.ABORTED, fail_at=now), reason
        )

    def next_wake(self) -> float:
        """When the next advance has work to do (now, when it is due at once)."""
        r = self.state
        now = self._clock()
        waiting = (Phase.HEALTH_GATE, Phase.VERIFYING, Phase.ROLLING_BACK, Phase.PROMOTING)
        if r.phase in waiting and r.next_probe is not None:
            return max(now, r.next_probe)
        if r.phase is Phase.HOLDING and r.next_look is not None:
            return max(now, r.next_look)
        return now

    # --- persistence and events ---------------------------------------------------------------------------

    def _commit(self, old: Rollout, new: Rollout, reason: str) -> Rollout:
        check_transition(old.phase, new.phase)
        now = self._clock()
        if new.phase.terminal and new.finished is None:
            new = replace(new, finished=now)
        new = replace(new, updated=now, reason=reason if new.phase != old.phase else new.reason or old.reason)
        self._store.save_transition(
            new.id,
            from_phase=old.phase.value,
            to_phase=new.phase.value,
            reason=reason,
            active=not new.phase.terminal,
            state=new.to_json(),
            at=now,
            previous=new.previous,
            weight=new.weight,
        )
        self.state = new
        if new.phase != old.phase:
            self._announce(new, reason)
        return new

    def _emit(
        self, kind: str, title: str, message: str, severity: Severity = Severity.INFO, **data: Any
    ) -> None:
        r = self.state
        data = {"rollout": r.id, "revision": r.revision, "previous": r.previous, **data}
        event = Event(kind, title, message, severity, r.service, r.environment, self._clock(), data)
        self._store.add_event(r.environment, kind, message, event.at, r.id, dict(event.data))
        if self._listener is not None:
            self._listener(event)

    def _announce(self, r: Rollout, reason: str) -> None:
        titles: dict[Phase, tuple[str, Severity]] = {
            Phase.DEPLOYING: ("Release started", Severity.INFO),
            Phase.HEALTH_GATE: ("Revision deployed, health gate running", Severity.INFO),
            Phase.SMOKE_GATE: ("Health gate passed", Severity.INFO),
            Phase.SHIFTING: ("Shifting traffic", Severity.INFO),
            Phase.PROMOTING: ("Promoting", Severity.INFO),
            Phase.HOLDING: (f"Traffic shifted: {r.weight}% to the new revision", Severity.INFO),
            Phase.PAUSED: ("Release paused: analysis inconclusive", Severity.WARNING),
            Phase.PROMOTED: ("Release promoted", Severity.INFO),
            Phase.FAILED: ("Release stopped at a gate", Severity.WARNING),
            Phase.ROLLING_BACK: ("Rolling back", Severity.WARNING),
            Phase.VERIFYING: ("Traffic switched back, verifying readiness", Severity.WARNING),
            Phase.ROLLED_BACK: ("Rolled back", Severity.WARNING),
            Phase.ROLLBACK_FAILED: ("Rollback needs attention", Severity.CRITICAL),
        }
        title, severity = titles.get(r.phase, (f"Phase {r.phase.value}", Severity.INFO))
        if r.kind is Kind.ROLLBACK and r.phase is Phase.ROLLED_BACK:
            title = "Manual rollback done"
        self._emit(r.phase.value, title, reason, severity, phase=r.phase.value, weight=r.weight)

    # --- helpers --------------------------------------------------------------------------------------------

    async def _find(self, name: str) -> Revision | None:
        for revision in await self._platform.revisions():
            if revision.name == name:
                return revision
        return None

    def _analyzer_for(self, r: Rollout) -> Analyzer:
        if self._analyzer is None:
            self._analyzer = self._analyzer_factory(r.previous is not None)
        return self._analyzer

    async def _remove_quietly(self, name: str) -> str:
        try:
            await self._platform.remove(name)
        except PlatformError as exc:
            return f"; could not remove {name}: {exc}"
        return ""

    async def _fail_gate(self, r: Rollout, now: float, gate: Cause, reason: str) -> Rollout:
        """A gate failed before user traffic: the revision is aborted, removed, and the release recorded."""
        self._store.set_revision_status(r.environment, r.revision, ABORTED)
        await self._remove_quietly(r.revision)
        self._store.record_deployment(
            r.id, r.environment, r.service, r.revision, r.previous, r.created, now, "failed", False
        )
        return replace(r, phase=Phase.FAILED, failed_by=gate, fail_at=now)

    def _next_step(self, r: Rollout) -> Step:
        if r.step + 1 < len(r.steps):
            return replace(r, phase=Phase.SHIFTING, step=r.step + 1), f"step {r.step + 1} passed"
        return replace(r, phase=Phase.PROMOTING), "all steps passed"

    # --- phase handlers -------------------------------------------------------------------------------------

    async def _pending(self, r: Rollout, now: float) -> Step:
        split = await self._platform.traffic()
        if r.kind is Kind.ROLLBACK:
            return replace(r, phase=Phase.ROLLING_BACK, fail_at=now), f"manual rollback to {r.revision}"
        if split.weights and split.single is None:
            reason = (
                f"traffic is split ({split_text(split.weights)}) and no rollout is in progress; "
                "run keel rollback to put it on one revision first"
            )
            return await self._fail_gate(r, now, Cause.PRECONDITION, reason), reason
        previous = split.single
        if previous is None:
            steps = (PlannedStep(100, r.steps[-1].hold if r.steps else 0.0),)
            reason = (
                "first deploy: no revision serves traffic yet, so there is no rollback target; "
                "the revision takes 100% once its gates pass"
            )
            return replace(r, phase=Phase.DEPLOYING, previous=None, first_deploy=True, steps=steps), reason
        return replace(
            r, phase=Phase.DEPLOYING, previous=previous
        ), f"serving now: {previous} (read from traffic)"

    async def _deploying(self, r: Rollout, now: float) -> Step:
        revision = await self._find(r.revision)
        if revision is None:
            spec = RevisionSpec(r.revision, env=dict(r.revision_env), image=r.image, command=r.command)
            try:
                revision = await self._platform.deploy(spec)
            except PlatformError as exc:
                reason = f"deploy failed: {exc}"
                return await self._fail_gate(r, now, Cause.DEPLOY, reason), reason
        self._store.record_revision(
            r.environment, r.revision, now, r.id, {"env": sorted(r.revision_env), "image": r.image}
        )
        if any(step.hold > 0 for step in r.steps):
            self._analyzer_for(r)  # built (libraries imported) while the revision starts, not during a hold
        return (
            replace(
                r, phase=Phase.HEALTH_GATE, url=revision.url, gate_started=now, gate_passes=0, next_probe=now
            ),
            f"revision {r.revision} created with no traffic at {revision.url}",
        )

    async def _probe(self, url: str, path: str, limit: float) -> tuple[bool, str]:
        result = await self._prober.probe(join_url(url, path), limit)
        return result.ok, result.detail

    async def _health_gate(self, r: Rollout, now: float) -> Step:
        gate = self.settings.health
        if r.next_probe is not None and now < r.next_probe:
            return r, ""
        revision = await self._find(r.revision)
        if revision is None or revision.state in (RevisionState.FAILED, RevisionState.STOPPED):
            detail = revision.detail if revision is not None and revision.detail else "process is gone"
            reason = f"health gate: revision exited during start-up ({detail}); no traffic was moved"
            return await self._fail_gate(r, now, Cause.HEALTH, reason), reason
        ok, detail = await self._probe(revision.url, gate.path, gate.timeout)
        passes = r.gate_passes + 1 if ok else 0
        done = self._clock()
        started = r.gate_started if r.gate_started is not None else now
        if passes >= gate.passes:
            return (
                replace(r, phase=Phase.SMOKE_GATE, gate_passes=passes, last_probe=detail, url=revision.url),
                f"ready: {passes} consecutive passes of {gate.path}",
            )
        if done - started >= gate.deadline:
            reason = (
                f"health gate: not ready within {gate.deadline:g}s ({passes}/{gate.passes} consecutive passes "
                f"of {gate.path}; last probe: {detail}); no traffic was moved"
            )
            return await self._fail_gate(replace(r, last_probe=detail), now, Cause.HEALTH, reason), reason
        return replace(r, gate_passes=passes, last_probe=detail, next_probe=now + gate.interval), ""

    async def _smoke_gate(self, r: Rollout, now: float) -> Step:
        url = r.url or ""
        try:
            result = await self._smoke.run(url)
        except Exception as exc:  # a broken suite fails the gate, it never lets the revision through
            result = GateResult(False, f"smoke gate error: {type(exc).__name__}: {exc}")
        smoke = {"passed": result.passed, "summary": result.summary, **result.details}
        if not result.passed:
            reason = f"smoke gate: {result.summary}; no traffic was moved"
            return await self._fail_gate(replace(r, smoke=smoke), now, Cause.SMOKE, reason), reason
        return replace(r, phase=Phase.SHIFTING, step=0, smoke=smoke), f"smoke gate: {result.summary}"

    async def _shifting(self, r: Rollout, now: float) -> Step:
        step = r.current_step or PlannedStep(100, 0.0)
        weights = {r.revision: step.weight}
        if r.previous is not None and step.weight < 100:
            weights[r.previous] = 100 - step.weight
        try:
            split = await self._platform.set_traffic(weights)
        except PlatformError as exc:
            reason = f"traffic change to {step.weight}% failed: {exc}"
            return replace(r, phase=Phase.ROLLING_BACK, failed_by=Cause.PLATFORM, fail_at=now), reason
        now = self._clock()  # the hold starts when the new weights are in effect
        hold_end = now + step.hold
        first_look = min(now + self.settings.look_interval, hold_end)
        return (
            replace(r,
                phase=Phase.HOLDING, weight=step.weight, step_started=now, look=0, extra_hold=0.0,
                next_look=first_look,
            ),
            f"step {r.step + 1}/{len(r.steps)}: {split_text(split.weights)}; hold {step.hold:g}s",
        )  # fmt: skip

    async def _look(self, r: Rollout, now: float) -> Verdict:
        started = r.step_started if r.step_started is not None else now
        step = r.current_step or PlannedStep(100, 0.0)
        look = Look(r.step, r.look + 1, started, now, step.hold + r.extra_hold)
        try:
            return await self._analyzer_for(r).analyze(r.revision, r.previous, look)
        except AnalysisError as exc:
            return Verdict(Outcome.INCONCLUSIVE, (), f"metrics unavailable: {exc}", "none")

    async def _holding(self, r: Rollout, now: float) -> Step:
        step = r.current_step or PlannedStep(100, 0.0)
        started = r.step_started if r.step_started is not None else now
        if step.hold <= 0:
            return self._next_step(r)
        if r.next_look is not None and now < r.next_look:
            return r, ""
        verdict = await self._look(r, now)
        decided = self._clock()
        look = r.look + 1
        self._store.add_verdict(r.id, r.step, look, now, verdict.outcome.value, verdict.to_json())
        r = replace(r, look=look, last_verdict=verdict)
        self._emit(
            "verdict", f"Analysis: {verdict.outcome.value}", verdict.summary,
            Severity.WARNING if verdict.outcome is Outcome.FAIL else Severity.INFO,
            step=r.step, look=look, outcome=verdict.outcome.value, weight=r.weight,
        )  # fmt: skip
        if verdict.outcome is Outcome.FAIL:
            reason = f"analysis failed at {r.weight}%: {verdict.summary}"
            return replace(r, phase=Phase.ROLLING_BACK, failed_by=Cause.ANALYSIS, fail_at=decided), reason
        hold_end = started + step.hold + r.extra_hold
        interval = self.settings.look_interval
        if now < hold_end:
            return replace(r, next_look=min(now + interval, hold_end)), ""
        if verdict.outcome is Outcome.PASS:
            return self._next_step(r)
        if r.extra_hold + interval <= self.settings.max_extra_hold:
            return replace(r, extra_hold=r.extra_hold + interval, next_look=now + interval), ""
        waited = f"analysis still inconclusive after {step.hold + r.extra_hold:g}s at {r.weight}%"
        if self.settings.on_inconclusive == "pause":
            return replace(r, phase=Phase.PAUSED), f"{waited}; paused for a human (resume or roll back)"
        return replace(r, phase=Phase.ROLLING_BACK, failed_by=Cause.INCONCLUSIVE, fail_at=now), waited

    async def _paused(self, r: Rollout, now: float) -> Step:
        return r, ""

    async def _promoting(self, r: Rollout, now: float) -> Step:
        if r.next_probe is not None and now < r.next_probe:
            return r, ""
        try:
            split = await self._platform.traffic()
            if split.single != r.revision:
                await self._platform.set_traffic({r.revision: 100})
        except PlatformError as exc:
            # Retried like a rollback; once the rollback deadline has passed, traffic must not stay split:
            # it goes back to the previous revision (a first deploy has no other: keep retrying).
            started = r.fail_at if r.fail_at is not None else now
            if now - started >= self.settings.rollback.deadline and r.previous is not None:
                reason = f"promotion to 100% failed for {now - started:.0f}s: {exc}; rolling back"
                return replace(r, phase=Phase.ROLLING_BACK, failed_by=Cause.PLATFORM, fail_at=now), reason
            retry = replace(r, fail_at=started, next_probe=now + self.settings.rollback.interval)
            return retry, f"retrying promotion: {exc}"
        self._store.record_serving(r.environment, r.revision, now, r.id, "promoted")
        self._store.set_revision_status(r.environment, r.revision, "serving")
        if r.previous is not None:
            self._store.set_revision_status(r.environment, r.previous, "retired")
        note = await self._prune(r)
        self._store.record_deployment(
            r.id, r.environment, r.service, r.revision, r.previous, r.created, now, "promoted", False
        )
        return replace(r, phase=Phase.PROMOTED, weight=100), f"{r.revision} serves 100%{note}"

    async def _prune(self, r: Rollout) -> str:
        """Keep the newest ``keep_revisions`` revisions that served (rollback targets); remove the rest."""
        keep = self.settings.keep_revisions
        if keep is None:
            return ""
        kept: list[str] = []
        for row in self._store.serving_history(r.environment):
            if row.revision not in kept:
                kept.append(row.revision)
        kept = kept[:keep]
        note = ""
        for revision in await self._platform.revisions():
            if revision.name not in kept and revision.name != r.revision:
                note += await self._remove_quietly(revision.name)
        return note

    async def _rolling_back(self, r: Rollout, now: float) -> Step:
        target = r.target
        if target is None:
            reason = (
                f"first deploy: there is no previous revision to roll back to; {r.revision} keeps serving. "
                "Fix forward with a new deploy"
            )
            self._finish_record(r, now, "rollback_failed")
            return replace(r, phase=Phase.ROLLBACK_FAILED), reason
        try:
            split = await self._platform.set_traffic({target: 100})
        except PlatformError as exc:
            started = r.fail_at if r.fail_at is not None else now
            if now - started >= self.settings.rollback.deadline:
                self._finish_record(r, now, "rollback_failed")
                return replace(r, phase=Phase.ROLLBACK_FAILED), f"rollback to {target} failed: {exc}"
            return replace(r, next_probe=now + self.settings.rollback.interval), f"retrying rollback: {exc}"
        switched = self._clock()
        return (
            replace(r, phase=Phase.VERIFYING, weight=0, switched_at=switched, gate_started=now, gate_passes=0,
                     next_probe=now),
            f"traffic switched: {split_text(split.weights)}",
        )  # fmt: skip

    async def _verifying(self, r: Rollout, now: float) -> Step:
        policy, target = self.settings.rollback, r.target or ""
        if r.next_probe is not None and now < r.next_probe:
            return r, ""
        revision = await self._find(target)
        ok, detail = False, f"revision {target} is gone from the platform"
        if revision is not None:
            ok, detail = await self._probe(
                revision.url, self.settings.health.path, self.settings.health.timeout
            )
        passes = r.gate_passes + 1 if ok else 0
        if passes >= policy.passes:
            return await self._rolled_back(replace(r, gate_passes=passes, last_probe=detail), now)
        started = r.gate_started if r.gate_started is not None else now
        if self._clock() - started >= policy.deadline:
            reason = (
                f"{target} has 100% of traffic but is not ready ({passes}/{policy.passes} passes of "
                f"{self.settings.health.path} within {policy.deadline:g}s; last: {detail}); a human is needed"
            )
            self._finish_record(r, now, "rollback_failed")
            return replace(r, phase=Phase.ROLLBACK_FAILED, gate_passes=passes, last_probe=detail), reason
        return replace(r, gate_passes=passes, last_probe=detail, next_probe=now + policy.interval), ""

    async def _rolled_back(self, r: Rollout, now: float) -> Step:
        target = r.target or ""
        self._store.record_serving(r.environment, target, now, r.id, f"{r.kind.value} rollback")
        self._store.set_revision_status(r.environment, target, "serving")
        note = ""
        if r.kind is Kind.DEPLOY:
            self._store.set_revision_status(r.environment, r.revision, ABORTED)
            note = await self._remove_quietly(r.revision)
            self._finish_record(r, now, "rolled_back")
        elif r.previous is not None and r.previous != target:
            self._store.set_revision_status(r.environment, r.previous, "rolled_back")
        return replace(r, phase=Phase.ROLLED_BACK), f"{target} serves 100% and is ready{note}"

    def _finish_record(self, r: Rollout, now: float, outcome: str) -> None:
        if r.kind is Kind.DEPLOY:
            self._store.record_deployment(
                r.id, r.environment, r.service, r.revision, r.previous, r.created, now, outcome, True
            )
