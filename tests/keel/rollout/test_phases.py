"""The transition table: what may follow what."""

from __future__ import annotations

import pytest

from keel.rollout.errors import InvalidTransition
from keel.rollout.phases import TERMINAL, TRANSITIONS, Phase, check_transition


def test_every_phase_has_an_entry_and_terminal_phases_lead_nowhere() -> None:
    assert set(TRANSITIONS) == set(Phase)
    for phase in TERMINAL:
        assert TRANSITIONS[phase] == frozenset()
        assert phase.terminal


def test_every_non_terminal_phase_can_reach_a_safe_end() -> None:
    safe = {Phase.PROMOTED, Phase.ROLLED_BACK, Phase.FAILED, Phase.ROLLBACK_FAILED}
    for start in set(Phase) - TERMINAL:
        seen, todo = set(), [start]
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo.extend(TRANSITIONS[p])
        assert seen & safe, start


@pytest.mark.parametrize(
    ("current", "new"),
    [(Phase.PENDING, Phase.SHIFTING), (Phase.HEALTH_GATE, Phase.PROMOTED), (Phase.PROMOTED, Phase.ROLLING_BACK),
     (Phase.FAILED, Phase.DEPLOYING), (Phase.SHIFTING, Phase.FAILED)],
)  # fmt: skip
def test_forbidden_transitions_are_refused(current: Phase, new: Phase) -> None:
    with pytest.raises(InvalidTransition, match=f"from {current.value} to {new.value}"):
        check_transition(current, new)


def test_traffic_moves_only_after_both_gates() -> None:
    for phase in (Phase.PENDING, Phase.DEPLOYING, Phase.HEALTH_GATE):
        assert Phase.SHIFTING not in TRANSITIONS[phase]
    assert Phase.SHIFTING in TRANSITIONS[Phase.SMOKE_GATE]
