"""Fakes for engine tests: a clock that only moves when told, a scripted analyzer and smoke gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from keel.analysis.base import Analyzer, Look, Outcome, Verdict
from keel.notify.base import Event
from keel.platforms.memory import MemoryPlatform
from keel.rollout.engine import EngineSettings, RolloutEngine
from keel.rollout.gates import GateResult
from keel.rollout.state import Rollout
from keel.spec import HealthGate, RollbackPolicy, Step
from keel.store import Store


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedAnalyzer:
    """Answers each look from ``decide(canary, look)``; records the looks it was asked."""

    def __init__(self, decide: Callable[[str, Look], Outcome]) -> None:
        self.decide = decide
        self.looks: list[tuple[str, str | None, Look]] = []

    async def analyze(self, canary: str, baseline: str | None, look: Look) -> Verdict:
        self.looks.append((canary, baseline, look))
        outcome = self.decide(canary, look)
        return Verdict(outcome, (), f"scripted {outcome.value}", "scripted")


class FakeSmoke:
    def __init__(self, passed: bool = True) -> None:
        self.passed = passed
        self.urls: list[str] = []

    async def run(self, base_url: str) -> GateResult:
        self.urls.append(base_url)
        return GateResult(
            self.passed, "1/1 checks passed" if self.passed else "GET /x: expected 401, got 200"
        )


STEPS = (Step(weight=10, hold=60), Step(weight=50, hold=60), Step(weight=100))
SETTINGS = EngineSettings(
    health=HealthGate(path="/health/ready", passes=3, deadline=30, interval=1, timeout=2),
    rollback=RollbackPolicy(passes=2, deadline=10, interval=0.5),
    look_interval=20,
    max_extra_hold=40,
    on_inconclusive="fail",
)


@dataclass
class Rig:
    """One environment under test: store, memory platform, fakes, and the events the engine emitted."""

    tmp: Path
    clock: FakeClock = field(default_factory=FakeClock)
    outcome: Callable[[str, Look], Outcome] = lambda canary, look: Outcome.PASS
    smoke: FakeSmoke = field(default_factory=FakeSmoke)
    settings: EngineSettings = SETTINGS
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = Store(self.tmp / "keel.db")
        self.platform = MemoryPlatform(self.clock, "svc")
        self.prober = self.platform.prober()
        self.analyzer = ScriptedAnalyzer(lambda canary, look: self.outcome(canary, look))
        self.baselines: list[bool] = []

    def make_analyzer(self, has_baseline: bool) -> Analyzer:
        self.baselines.append(has_baseline)
        return self.analyzer

    def engine(self, rollout: Rollout) -> RolloutEngine:
        return RolloutEngine(
            rollout,
            store=self.store,
            platform=self.platform,
            prober=self.prober,
            smoke=self.smoke,
            analyzer=self.make_analyzer,
            settings=self.settings,
            clock=self.clock,
            listener=self.events.append,
        )

    def reload(self, rollout_id: str) -> Rollout:
        row = self.store.rollout(rollout_id)
        assert row is not None
        return Rollout.from_json(row.state)

    def phases(self, rollout_id: str) -> list[str]:
        transitions = self.store.transitions(rollout_id)
        return [transitions[0]["from_phase"], *(t["to_phase"] for t in transitions)] if transitions else []
