"""Rollout phases and the table of allowed transitions between them."""

from __future__ import annotations

from enum import StrEnum

from keel.rollout.errors import InvalidTransition


class Kind(StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"


class Cause(StrEnum):
    """What stopped a release: the gate or step that failed, or the operator."""

    PRECONDITION = "precondition"  # traffic was already split when the release started
    DEPLOY = "deploy"  # the platform refused the new revision
    HEALTH = "health"
    SMOKE = "smoke"
    PLATFORM = "platform"  # a traffic change failed mid-canary
    ANALYSIS = "analysis"
    INCONCLUSIVE = "inconclusive"
    ABORTED = "aborted"


class Phase(StrEnum):
    """Each phase names the step the next ``advance()`` performs (or, when terminal, how it ended)."""

    PENDING = "pending"  # lock held; next: record the revision serving traffic now
    DEPLOYING = "deploying"  # next: create the new revision with no traffic
    HEALTH_GATE = "health_gate"  # probing readiness until N passes in a row or the start-up deadline
    SMOKE_GATE = "smoke_gate"  # next: smoke checks against the revision's own URL
    SHIFTING = "shifting"  # next: set the current step's weight
    HOLDING = "holding"  # holding the step, analysing at each look
    PAUSED = "paused"  # inconclusive past the extra hold with on_inconclusive=pause: a human decides
    PROMOTING = "promoting"  # next: 100 % to the new revision, record it as serving
    ROLLING_BACK = "rolling_back"  # next: 100 % to the rollback target
    VERIFYING = "verifying"  # probing the rollback target's readiness
    PROMOTED = "promoted"
    FAILED = "failed"  # a gate failed before any user traffic reached the revision
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"  # traffic is on the target but it is not ready: a human is needed

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def traffic_may_be_split(self) -> bool:
        return self in (Phase.SHIFTING, Phase.HOLDING, Phase.PAUSED, Phase.PROMOTING, Phase.ROLLING_BACK)


TERMINAL = frozenset({Phase.PROMOTED, Phase.FAILED, Phase.ROLLED_BACK, Phase.ROLLBACK_FAILED})

_BEFORE_TRAFFIC = (Phase.PENDING, Phase.DEPLOYING, Phase.HEALTH_GATE, Phase.SMOKE_GATE)

TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.PENDING: frozenset({Phase.DEPLOYING, Phase.ROLLING_BACK, Phase.FAILED}),
    Phase.DEPLOYING: frozenset({Phase.HEALTH_GATE, Phase.FAILED, Phase.ROLLING_BACK}),
    Phase.HEALTH_GATE: frozenset({Phase.SMOKE_GATE, Phase.FAILED, Phase.ROLLING_BACK}),
    Phase.SMOKE_GATE: frozenset({Phase.SHIFTING, Phase.FAILED, Phase.ROLLING_BACK}),
    Phase.SHIFTING: frozenset({Phase.HOLDING, Phase.ROLLING_BACK}),
    Phase.HOLDING: frozenset({Phase.SHIFTING, Phase.PROMOTING, Phase.PAUSED, Phase.ROLLING_BACK}),
    Phase.PAUSED: frozenset({Phase.SHIFTING, Phase.ROLLING_BACK}),
    Phase.PROMOTING: frozenset({Phase.PROMOTED, Phase.ROLLING_BACK}),
    Phase.ROLLING_BACK: frozenset({Phase.VERIFYING, Phase.ROLLBACK_FAILED}),
    Phase.VERIFYING: frozenset({Phase.ROLLED_BACK, Phase.ROLLBACK_FAILED, Phase.ROLLING_BACK}),
    Phase.PROMOTED: frozenset(),
    Phase.FAILED: frozenset(),
    Phase.ROLLED_BACK: frozenset(),
    Phase.ROLLBACK_FAILED: frozenset(),
}


def check_transition(current: Phase, new: Phase) -> None:
    """Refuse a change the table does not allow (staying in the same phase is always allowed)."""
    if new != current and new not in TRANSITIONS[current]:
        raise InvalidTransition(f"rollout cannot go from {current.value} to {new.value}")


def before_traffic(phase: Phase) -> bool:
    return phase in _BEFORE_TRAFFIC
