"""Releases from Python: deploy (or resume), rollback, abort and status of one environment of a keel.yaml,
each returning a typed report. It owns what a release needs around the engine: the wiring, the environment
lock, notifications, abort on SIGINT/SIGTERM and recovery after an unexpected error. The CLI is a shell
around this module::

    from keel.rollout.release import Release
    from keel.spec import load_spec

    report = await Release(load_spec("keel.yaml"), "staging").deploy(image="europe-docker.pkg.dev/...:v2")
    print(report.phase, report.exit_code)
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from keel.errors import ConfigError, KeelError
from keel.notify.base import Event
from keel.platforms.base import split_text
from keel.rollout.errors import LockLost, RolloutError
from keel.rollout.guards import EnvironmentLock, Owner, this_process
from keel.rollout.phases import Kind, Phase
from keel.rollout.plan import DeployPlan
from keel.rollout.report import EnvironmentStatus, RollbackPlan, RolloutReport, build_report
from keel.rollout.state import Rollout, random_token
from keel.types import Clock, Sleeper

if TYPE_CHECKING:
    from keel.analysis.plan import AnalysisPlan
    from keel.notify.dispatch import Dispatcher
    from keel.platforms.base import Platform
    from keel.rollout.commit import Commit
    from keel.rollout.engine import RolloutEngine
    from keel.rollout.wiring import Wiring
    from keel.spec import KeelSpec

# Rollout events that go to notification channels (observers and the store get all of them).
NOTIFIED = frozenset(
    {"deploying", "resumed", "paused", "promoted", "failed", "rolling_back", "rolled_back", "rollback_failed"}
)

PLAN_WINDOW = 300.0  # seconds of the serving revision's traffic the analysis plan is computed from

# Exit codes of a rollback or an abort: done (or nothing needed doing) is success; the target not ready is 5.
OPERATOR_EXIT = {Phase.ROLLED_BACK: 0, Phase.FAILED: 0, Phase.ROLLBACK_FAILED: 5}


class Observer(Protocol):
    """Who watches a release as it runs (the CLI's live view; a chat bot). Called on the event loop."""

    def on_event(self, event: Event) -> None: ...

    def on_tick(self, rollout: Rollout) -> None: ...

    def on_warning(self, message: str) -> None: ...


class QuietObserver:
    """Watches nothing: the default, so callers never test for None."""

    def on_event(self, event: Event) -> None:
        pass

    def on_tick(self, rollout: Rollout) -> None:
        pass

    def on_warning(self, message: str) -> None:
        pass


class RollbackDeclined(RolloutError):
    """The confirmation callback said no: nothing was changed."""


@dataclass
class _Session:
    """What one operation holds: the wiring, the lock and the notification dispatcher."""

    wiring: Wiring
    lock: EnvironmentLock
    dispatcher: Dispatcher
    warnings: list[str]


class Release:
    """The releases of one environment. Each operation takes the environment's lock for its duration (another
    keel holding it is a LockHeld error, exit 3) and returns a report read back from the store.

    ``handle_signals`` makes SIGINT and SIGTERM abort the release (traffic goes back to the previous
    revision; a second signal leaves at once, and the record allows ``deploy(resume=True)`` or ``rollback()``);
    a program with its own signal handling calls ``request_stop()`` instead. ``wiring`` replaces the parts
    built from the spec (tests pass a memory platform and a scripted analyzer)."""

    def __init__(
        self,
        spec: KeelSpec,
        environment: str,
        *,
        observer: Observer | None = None,
        wiring: Wiring | None = None,
        clock: Clock = time.time,
        sleeper: Sleeper = asyncio.sleep,
        handle_signals: bool = False,
    ) -> None:
        spec.environment(environment)  # an unknown environment is refused before anything starts
        self.spec = spec
        self.environment = environment
        self._observer: Observer = observer or QuietObserver()
        self._wiring = wiring
        self._clock = clock
        self._sleep = sleeper
        self._handle_signals = handle_signals
        self._stop_requested = False

    # --- operations -----------------------------------------------------------------------------------------

    async def deploy(
        self,
        *,
        revision_env: Mapping[str, str] | None = None,
        image: str | None = None,
        resume: bool = False,
        commit: Commit | None = None,
    ) -> RolloutReport:
        """Release a new revision through the gates and the strategy's steps, or (``resume``) continue the
        environment's interrupted rollout. ``commit`` is what it ships (for lead time); by default it is
        read from KEEL_COMMIT_SHA, GITHUB_SHA or ``git`` in the spec's directory."""
        from keel.rollout.commit import detect_commit
        from keel.rollout.runner import new_deploy, unfinished

        if resume and (revision_env or image):
            raise ConfigError(
                "resume continues the recorded rollout: revision_env and image cannot change it"
            )
        async with self._session("deploy") as session:
            store = session.wiring.store
            if resume:
                rollout = unfinished(store, self.environment)
                if rollout.kind is not Kind.DEPLOY:
                    raise ConfigError(
                        f"the unfinished rollout {rollout.id} is a rollback: finish it with keel rollback"
                    )
            else:
                rollout = new_deploy(
                    store, service=self.spec.service, environment=self.environment,
                    steps=self.spec.strategy.steps(), clock=self._clock, revision_env=dict(revision_env or {}),
                    image=image, owner=session.lock.owner.id,
                )  # fmt: skip
                shipped = commit if commit is not None else detect_commit(self.spec.base_dir)
                if shipped is not None:
                    store.record_commit(
                        rollout.id, self.environment, shipped.sha, shipped.committed, shipped.source
                    )
            session.lock.heartbeat(rollout.id)
            if not resume:
                await self._announce_plan(session)
            # the statistics (NumPy, SciPy: ~1.5 s of CPU) load in a thread while the gates run, not on the
            # event loop at the first look, where they would stall the rollout's timers
            preload = asyncio.create_task(asyncio.to_thread(_preload_statistics))
            try:
                final = await self._drive(session, self._engine(session, rollout), resume=resume)
            finally:
                with suppress(Exception):
                    await preload
            return await self._finish(session, final)

    async def plan_deploy(
        self, *, revision_env: Mapping[str, str] | None = None, image: str | None = None
    ) -> DeployPlan:
        """What ``deploy()`` would do, changing nothing (no lock, no record, nothing started): the platform
        calls in order, the gates and the steps, read against the traffic on the platform now."""
        from keel.platforms.config import PlatformContext
        from keel.platforms.registry import create_platform
        from keel.rollout.plan import deploy_calls
        from keel.rollout.wiring import existing_store, state_dir

        spec, env = self.spec, self.environment
        config = spec.environment(env)
        notes: list[str] = []
        traffic: dict[str, int] | None = None
        error: str | None = None
        if self._wiring is not None:
            platform = self._wiring.platform
        else:
            context = PlatformContext(spec.service, env, state_dir(spec), spec.probes, read_only=True)
            platform = create_platform(config, context)
        try:
            traffic = dict((await platform.traffic()).weights)
        except KeelError as exc:
            error = str(exc)
            notes.append(f"the platform could not be read ({error}): the plan assumes nothing serves yet")
        serving = next((name for name, weight in (traffic or {}).items() if weight == 100), None)
        if traffic and serving is None:
            notes.append(
                f"traffic is split ({split_text(traffic)}): the release would be refused; keel rollback first"
            )
        sequence = 1
        store = self._wiring.store if self._wiring is not None else existing_store(spec)
        if store is not None:
            try:
                sequence = store.count_rollouts(env) + 1
                active = store.active_rollout(env)
                if active is not None:
                    notes.append(
                        f"rollout {active.id} did not finish: the release would be refused (exit 3) until "
                        "keel deploy --resume or keel rollback"
                    )
            finally:
                if self._wiring is None:
                    store.close()
        revision = f"{spec.service}-{sequence:05d}-<id>"
        gate = spec.gates.health
        smoke_file = spec.smoke_file()
        if smoke_file is not None:
            smoke = f"smoke suite {smoke_file.name} against the revision's own URL"
        elif spec.gates.smoke is not None:
            smoke = f"{len(spec.gates.smoke.checks)} HTTP expectations against the revision's own URL"
        else:
            smoke = "none configured"
        steps = tuple((s.weight, s.hold) for s in spec.strategy.steps())
        policy = spec.rollback
        calls = deploy_calls(
            revision=revision, serving=serving, steps=steps,
            health=f"GET {gate.path} on the revision's URL until {gate.passes} passes in a row, within "
            f"{gate.deadline:g}s",
            smoke=smoke,
            rollback_probe=f"{policy.passes} passes of {gate.path} within {policy.deadline:g}s",
        )  # fmt: skip
        analysis: tuple[dict[str, Any], ...] = ()
        if error is None:
            plan, why = await self.analysis_plan(platform, serving)
            if plan is None:
                notes.append(f"no analysis plan: {why}")
            else:
                analysis = tuple(asdict(step) for step in plan.steps)
                notes += plan.lines()
        return DeployPlan(
            service=spec.service, environment=env, platform=config.platform, revision=revision, serving=serving,
            traffic=traffic, calls=calls, notes=tuple(notes), platform_error=error,
            revision_env=tuple(sorted(revision_env or {})), image=image, analysis=analysis,
        )  # fmt: skip

    async def analysis_plan(self, platform: Platform, serving: str | None) -> tuple[AnalysisPlan | None, str]:
        """What the judge can do in each canary step at the traffic the serving revision had over the last
        five minutes (``keel.analysis.plan``), or None and why not (a first deploy, no holds, no metrics)."""
        from keel.analysis.plan import plan_rollout
        from keel.analysis.sources.registry import create_source

        steps = [(s.weight, s.hold) for s in self.spec.strategy.steps()]
        if serving is None:
            return None, "first deploy: no baseline to plan against"
        if not any(weight < 100 and hold > 0 for weight, hold in steps):
            return None, "no canary step is held: nothing is analysed"
        now = self._clock()
        try:
            source = create_source(self.spec.analysis, platform=platform)
            window = await source.window(serving, now - PLAN_WINDOW, now)
            rate = window.requests / PLAN_WINDOW
            errors = min(max(window.error_rate or 0.0, 0.001), 0.5)
            return plan_rollout(rate, steps, self.spec.analysis, base_error_rate=errors), ""
        except (KeelError, ValueError) as exc:
            return None, f"traffic of {serving} unavailable ({exc})"

    async def plan_rollback(
        self, *, steps_back: int | None = None, revision: str | None = None
    ) -> RollbackPlan:
        """What ``rollback()`` would do, changing nothing: undo an interrupted rollout, or switch to a target."""
        async with self._parts() as wiring:
            return await self._plan(wiring, steps_back, revision)

    async def rollback(
        self,
        *,
        steps_back: int | None = None,
        revision: str | None = None,
        confirm: Callable[[RollbackPlan], bool] | None = None,
    ) -> RolloutReport:
        """All traffic back on an earlier revision (``steps_back`` served revisions back, default 1, or
        ``revision``), then verify its readiness. When a deploy was interrupted, undo that rollout instead.
        ``confirm`` sees the plan first and may decline (RollbackDeclined, nothing changed)."""
        from keel.rollout.runner import new_rollback

        async with self._session("rollback") as session:
            plan = await self._plan(session.wiring, steps_back, revision)
            if confirm is not None and not confirm(plan):
                raise RollbackDeclined("rollback declined: nothing was changed")
            if plan.action == "undo_interrupted":
                final = await self._undo(
                    session, plan.target, f"keel rollback: undoing rollout {plan.rollout}"
                )
            else:
                assert plan.target is not None
                rollout = new_rollback(
                    session.wiring.store, service=self.spec.service, environment=self.environment,
                    target=plan.target, serving=plan.serving, clock=self._clock, owner=session.lock.owner.id,
                )  # fmt: skip
                session.lock.heartbeat(rollout.id)
                final = await self._drive(session, self._engine(session, rollout), resume=False)
            return await self._finish(session, final, action=plan.action, operator=True)

    async def abort(self, reason: str = "aborted by the operator") -> RolloutReport:
        """Stop the environment's unfinished rollout (interrupted or paused): before user traffic it fails its
        gate; with traffic it rolls back to the revision that served before."""
        from keel.rollout.runner import unfinished

        async with self._session("abort") as session:
            rollout = unfinished(session.wiring.store, self.environment)
            final = await self._undo(session, rollout.target, reason)
            return await self._finish(session, final, operator=True)

    async def status(self) -> EnvironmentStatus:
        """The split on the platform, its revisions, the rollback targets, any unfinished rollout and the
        latest rollouts (reads only; takes no lock)."""
        from keel.rollout.targets import candidates

        async with self._parts() as w:
            split = await w.platform.traffic()
            revisions = await w.platform.revisions()
            active = w.store.active_rollout(self.environment)
            return EnvironmentStatus(
                service=self.spec.service,
                environment=self.environment,
                traffic=dict(split.weights),
                revisions=tuple(r.name for r in revisions),
                unfinished=Rollout.from_json(active.state) if active else None,
                candidates=tuple(candidates(w.store, self.environment, split.single, revisions)),
                recent=tuple(Rollout.from_json(row.state) for row in w.store.rollouts(self.environment, 5)),
            )

    def request_stop(self) -> None:
        """Abort the running release at the next step (what the first Ctrl-C does); a second call leaves at
        once with KeyboardInterrupt, the record allowing a resume or a rollback."""
        if self._stop_requested:
            raise KeyboardInterrupt
        self._stop_requested = True
        self._observer.on_warning(
            "interrupted: aborting the rollout (traffic goes back to the previous revision)"
        )

    async def _announce_plan(self, session: _Session) -> None:
        """Tell the observer what the judge can do at today's traffic before the release starts; its warnings
        (a hold too short for the traffic, say) also go into the report."""
        platform = session.wiring.platform
        try:
            serving = (await platform.traffic()).single
        except KeelError:
            return  # the engine's first step reads the traffic again and says what is wrong
        plan, _ = await self.analysis_plan(platform, serving)
        if plan is None:
            return
        event = Event("plan", "Analysis plan", "; ".join(plan.lines()), service=self.spec.service,
                      environment=self.environment, at=self._clock())  # fmt: skip
        self._observer.on_event(event)
        session.warnings.extend(plan.warnings)

    # --- the session around an operation ---------------------------------------------------------------------

    @asynccontextmanager
    async def _parts(self) -> AsyncIterator[Wiring]:
        from keel.rollout.wiring import wire

        wiring = self._wiring or wire(self.spec, self.environment)
        try:
            yield wiring
        finally:
            if self._wiring is None:
                wiring.store.close()

    @asynccontextmanager
    async def _session(self, command: str) -> AsyncIterator[_Session]:
        from keel.notify.dispatch import Dispatcher
        from keel.notify.registry import create_notifiers

        notify = self.spec.notify
        async with self._parts() as wiring:
            owner: Owner = this_process(command, random_token(6))
            lock = EnvironmentLock(wiring.store, self.environment, owner, self._clock, keepalive=True)
            notifiers, warnings = create_notifiers(notify.channels, timeout=notify.timeout)
            for warning in warnings:
                self._observer.on_warning(warning)
            session = _Session(wiring, lock, Dispatcher(notifiers, timeout=notify.timeout), list(warnings))
            try:
                lock.acquire()
                taken = lock.describe_replaced()
                if taken:
                    session.warnings.append(taken)
                    self._observer.on_warning(taken)
                yield session
            finally:
                lock.release()
                await session.dispatcher.aclose()

    def _engine(self, session: _Session, rollout: Rollout) -> RolloutEngine:
        from keel.rollout.engine import RolloutEngine

        w = session.wiring

        def listener(event: Event) -> None:
            if event.kind in NOTIFIED:  # people hear about outcomes, not about every look
                session.dispatcher.emit(event)
            self._observer.on_event(event)

        return RolloutEngine(
            rollout, store=w.store, platform=w.platform, prober=w.prober, smoke=w.smoke, analyzer=w.analyzer,
            settings=w.settings, clock=self._clock, listener=listener, lock=session.lock,
        )  # fmt: skip

    async def _run(self, engine: RolloutEngine, *, stoppable: bool = True) -> Rollout:
        from keel.rollout.runner import run_to_rest

        stop = (lambda: self._stop_requested) if stoppable else None
        return await run_to_rest(engine, self._clock, self._sleep, on_tick=self._observer.on_tick, stop=stop)

    async def _drive(self, session: _Session, engine: RolloutEngine, *, resume: bool) -> Rollout:
        """Run to rest. A stop request aborts the release instead of leaving traffic split; an unexpected error
        while traffic may be split rolls back once, and the record stays for a later resume or rollback."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if self._handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self.request_stop)
        try:
            if resume:
                await engine.resume()
            self._observer.on_tick(engine.state)
            try:
                state = await self._run(engine)
            except LockLost:
                raise  # another process holds the release now: no abort, no rollback, nothing written
            except Exception as exc:
                state = await self._recover(engine, exc)
            if self._stop_requested and not state.phase.terminal:
                await engine.abort("aborted by the operator (interrupt)")
                state = await self._run(engine, stoppable=False)
            return state
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def _recover(self, engine: RolloutEngine, error: Exception) -> Rollout:
        state = engine.state
        if state.phase.terminal or not state.phase.traffic_may_be_split or state.kind is not Kind.DEPLOY:
            raise error
        self._observer.on_warning(f"{type(error).__name__}: {error}; rolling back")
        try:
            await engine.abort(f"aborted after an error: {error}")
            return await self._run(engine, stoppable=False)
        except Exception:
            raise error from None

    async def _finish(
        self, session: _Session, final: Rollout, *, action: str | None = None, operator: bool = False
    ) -> RolloutReport:
        """Let pending notifications finish (bounded), then read the report back from the store."""
        await session.dispatcher.aclose()
        failures = [f"{f.channel} ({f.kind}): {f.message}" for f in session.dispatcher.failures]
        notes = self.spec.environment(self.environment).release_notes()
        report = build_report(
            session.wiring.store, final, notify_failures=failures, warnings=session.warnings, action=action,
            notes=notes,
        )  # fmt: skip
        if operator:
            from dataclasses import replace

            report = replace(report, exit_code=OPERATOR_EXIT.get(final.phase, 1))
        return report

    # --- rollback planning ------------------------------------------------------------------------------------

    async def _plan(self, wiring: Wiring, steps_back: int | None, revision: str | None) -> RollbackPlan:
        from keel.rollout.targets import candidates, choose_target

        check_rollback_target(steps_back, revision)
        store, platform, env = wiring.store, wiring.platform, self.environment
        split = await platform.traffic()
        active = store.active_rollout(env)
        if active is not None:
            interrupted = Rollout.from_json(active.state)
            target = interrupted.target
            if (revision is not None and revision != target) or steps_back not in (None, 1):
                raise ConfigError(
                    f"rollout {interrupted.id} ({interrupted.kind.value} of {interrupted.revision}) was "
                    f"interrupted; keel rollback first undoes it (back to "
                    f"{target or 'nothing: it was a first deploy'}), run it without -n/--revision"
                )
            return RollbackPlan(
                "undo_interrupted", env, target, dict(split.weights), rollout=interrupted.id,
                revision=interrupted.revision, interrupted_phase=interrupted.phase.value,
            )  # fmt: skip
        revisions = await platform.revisions()
        serving = split.single
        target = choose_target(store, env, serving, revisions, steps_back=steps_back, revision=revision)
        return RollbackPlan(
            "switch", env, target, dict(split.weights), serving=serving,
            candidates=tuple(candidates(store, env, serving, revisions)),
        )  # fmt: skip

    async def _undo(self, session: _Session, target: str | None, reason: str) -> Rollout:
        """Undo the environment's unfinished rollout. A deploy interrupted while promoting cannot be aborted
        (every gate passed; the engine allows only ``promoting -> promoted``): it is finished, then traffic
        switches back to ``target`` like any manual rollback (refused for a first deploy: nothing to go to)."""
        from keel.rollout.runner import new_rollback, unfinished

        store = session.wiring.store
        engine = self._engine(session, unfinished(store, self.environment))
        session.lock.heartbeat(engine.state.id)
        await engine.resume()
        if engine.state.phase is not Phase.PROMOTING:
            await engine.abort(reason)
            return await self._drive(session, engine, resume=False)
        promoted = await self._run(engine, stoppable=False)
        if target is None:
            raise ConfigError(
                f"rollout {promoted.id} was a first deploy interrupted while promoting; it is now promoted "
                f"({promoted.revision} serves 100%) and there is no earlier revision to roll back to: deploy the "
                "one you want instead"
            )
        rollout = new_rollback(
            store, service=promoted.service, environment=promoted.environment, target=target,
            serving=promoted.revision, clock=self._clock, owner=session.lock.owner.id,
        )  # fmt: skip
        session.lock.heartbeat(rollout.id)
        return await self._drive(session, self._engine(session, rollout), resume=False)


def check_rollback_target(steps_back: int | None, revision: str | None) -> None:
    """``-n`` counts served revisions back from 1, and excludes ``--revision`` (ConfigError otherwise)."""
    if steps_back is not None and steps_back < 1:
        raise ConfigError(f"-n {steps_back}: N counts served revisions back and must be 1 or more")
    if steps_back is not None and revision:
        raise ConfigError("-n and --revision exclude each other")


def _preload_statistics() -> None:
    import keel.analysis.judges.compare  # noqa: F401
