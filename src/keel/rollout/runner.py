"""Start, resume and run rollouts to rest: the loop around ``advance()`` with an injected sleeper."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from keel.platforms.base import Platform
from keel.rollout.engine import RolloutEngine
from keel.rollout.errors import NothingToResume, UnfinishedRollout
from keel.rollout.phases import Kind, Phase
from keel.rollout.state import PlannedStep, Rollout, new_id, random_token, revision_name
from keel.spec import Step
from keel.store import RolloutRow, Store
from keel.types import Clock, Sleeper

Tick = Callable[[Rollout], None]


async def run_to_rest(
    engine: RolloutEngine,
    clock: Clock,
    sleeper: Sleeper,
    *,
    max_sleep: float = 0.5,
    on_tick: Tick | None = None,
    stop: Callable[[], bool] | None = None,
) -> Rollout:
    """Advance until the rollout ends or pauses (or ``stop()`` says so), sleeping until the next step is due."""
    while True:
        if stop is not None and stop():
            return engine.state
        before = engine.state
        state = await engine.advance()
        if on_tick is not None:
            on_tick(state)
        if state.phase.terminal or state.phase is Phase.PAUSED:
            return state
        delay = engine.next_wake() - clock()
        if delay <= 0 and state == before:
            delay = 0.05  # nothing changed and nothing is due: never spin
        if delay > 0:
            await sleeper(min(delay, max_sleep))


def _row(rollout: Rollout) -> RolloutRow:
    return RolloutRow(
        rollout.id, rollout.environment, rollout.service, rollout.kind.value, rollout.revision, rollout.previous,
        rollout.phase.value, True, rollout.to_json(), rollout.created, rollout.updated,
    )  # fmt: skip


def refuse_unfinished(store: Store, environment: str) -> None:
    active = store.active_rollout(environment)
    if active is not None:
        raise UnfinishedRollout(
            f"rollout {active.id} ({active.kind} of {active.revision}) in {environment} did not finish "
            f"(phase {active.phase}); continue it with `keel deploy --env {environment} --resume` "
            f"or undo it with `keel rollback --env {environment}`"
        )


def new_deploy(
    store: Store,
    *,
    service: str,
    environment: str,
    steps: Sequence[Step],
    clock: Clock,
    revision_env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
    image: str | None = None,
    owner: str = "",
    token: str | None = None,
) -> Rollout:
    """Record a new deploy rollout (phase PENDING) with a fresh Cloud Run-style revision name."""
    refuse_unfinished(store, environment)
    now = clock()
    sequence = store.count_rollouts(environment) + 1
    rollout = Rollout(
        id=new_id("r", token),
        kind=Kind.DEPLOY,
        service=service,
        environment=environment,
        revision=revision_name(service, sequence, (token or random_token(3))[:3]),
        previous=None,
        phase=Phase.PENDING,
        created=now,
        updated=now,
        steps=tuple(PlannedStep(s.weight, s.hold) for s in steps),
        revision_env=dict(revision_env or {}),
        command=tuple(command) if command else None,
        image=image,
        owner=owner,
    )
    store.insert_rollout(_row(rollout))
    return rollout


def new_rollback(
    store: Store,
    *,
    service: str,
    environment: str,
    target: str,
    serving: str | None,
    clock: Clock,
    owner: str = "",
) -> Rollout:
    """Record a manual rollback to ``target``: it switches traffic and verifies readiness, nothing more."""
    refuse_unfinished(store, environment)
    now = clock()
    rollout = Rollout(
        id=new_id("b"),
        kind=Kind.ROLLBACK,
        service=service,
        environment=environment,
        revision=target,
        previous=serving,
        phase=Phase.PENDING,
        created=now,
        updated=now,
        owner=owner,
    )
    store.insert_rollout(_row(rollout))
    return rollout


def unfinished(store: Store, environment: str) -> Rollout:
    active = store.active_rollout(environment)
    if active is None:
        raise NothingToResume(f"no unfinished rollout in environment {environment}: nothing to resume")
    return Rollout.from_json(active.state)


async def current_serving(platform: Platform) -> str | None:
    return (await platform.traffic()).single
