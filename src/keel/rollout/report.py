"""The result of a rollout as typed records (schema ``keel.rollout/v1``), built from the store; JSON and
Markdown are renderings of them (``to_json``, ``to_markdown``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keel.analysis.base import Verdict, WindowFacts
from keel.platforms.base import split_text
from keel.rollout.phases import Kind, Phase
from keel.rollout.state import Rollout
from keel.rollout.targets import Candidate
from keel.store import Store

SCHEMA = "keel.rollout/v1"

# Exit codes of keel deploy, rollback and abort (documented in their --help and docs/keel.md).
EXIT_CODES: dict[Phase, int] = {
    Phase.PROMOTED: 0,
    Phase.ROLLED_BACK: 1,
    Phase.FAILED: 1,
    Phase.PAUSED: 4,
    Phase.ROLLBACK_FAILED: 5,
}


def exit_code(rollout: Rollout) -> int:
    if rollout.kind is Kind.ROLLBACK and rollout.phase in (Phase.ROLLED_BACK, Phase.FAILED):
        return 0
    return EXIT_CODES.get(rollout.phase, 1)


def iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts is not None else None


@dataclass(frozen=True)
class LookReport:
    """One look of the analysis: its verdict, when it came (seconds from the start) and the windows' facts."""

    step: int
    look: int
    t_s: float
    verdict: Verdict

    @property
    def outcome(self) -> str:
        return self.verdict.outcome.value

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "step": self.step,
            "look": self.look,
            "outcome": v.outcome.value,
            "judge": v.judge,
            "summary": v.summary,
            "metrics": [
                {"metric": m.metric, "outcome": m.outcome.value, "critical": m.critical, "reason": m.reason}
                for m in v.metrics
            ],
            "t_s": round(self.t_s, 3),
            "canary": _facts(v.canary),
            "baseline": _facts(v.baseline),
            "limits": dict(v.limits),
        }


_FACT_KEYS = ("requests", "errors", "error_rate", "p95_ms")


def _facts(facts: WindowFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    data = facts.to_json()
    return {k: data[k] for k in _FACT_KEYS}


@dataclass(frozen=True)
class TrafficPoint:
    """The new revision's weight from ``t_s`` seconds after the start, and what moved it."""

    t_s: float
    weight: int
    event: str

    def to_json(self) -> dict[str, Any]:
        return {"t_s": self.t_s, "weight": self.weight, "event": self.event}


@dataclass(frozen=True)
class Transition:
    """One persisted phase change, with the new revision's traffic weight once it took effect."""

    at: float
    from_phase: Phase
    to_phase: Phase
    reason: str
    weight: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "from": self.from_phase.value,
            "to": self.to_phase.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RollbackReport:
    """Where traffic went back to, why, how fast after the failure, and whether the target proved ready."""

    target: str | None
    cause: str
    switched_at: float
    seconds_from_failure_to_switch: float | None
    verified: bool
    last_probe: str

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "cause": self.cause,
            "switched_at": iso(self.switched_at),
            "seconds_from_failure_to_switch": self.seconds_from_failure_to_switch,
            "verified": self.verified,
            "last_probe": self.last_probe,
        }


@dataclass(frozen=True)
class RolloutReport:
    """Everything a pipeline needs to know about one rollout."""

    rollout: Rollout
    cause: str | None
    looks: tuple[LookReport, ...]
    traffic: tuple[TrafficPoint, ...]
    transitions: tuple[Transition, ...]
    rollback: RollbackReport | None
    notify_failures: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    action: str | None = None  # a rollback's: "switch" or "undo_interrupted"
    notes: tuple[str, ...] = ()  # what the environment declares (documented limits)
    exit_code: int = 1

    @property
    def phase(self) -> Phase:
        return self.rollout.phase

    @property
    def last_look(self) -> LookReport | None:
        return self.looks[-1] if self.looks else None

    @property
    def duration_s(self) -> float | None:
        finished = self.rollout.finished
        return round(finished - self.rollout.created, 3) if finished is not None else None

    def deciding_metrics(self) -> list[tuple[str, str, str]]:
        """(metric, outcome, reason) of the last look's metrics: the failing ones when it failed, else all."""
        last = self.last_look
        if last is None:
            return []
        metrics = [(m.metric, m.outcome.value, m.reason) for m in last.verdict.metrics]
        failing = [m for m in metrics if m[1] == "fail"]
        return failing if last.outcome == "fail" and failing else metrics

    def to_json(self) -> dict[str, Any]:
        r = self.rollout
        last = self.last_look
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "rollout": r.id,
            "kind": r.kind.value,
            "service": r.service,
            "environment": r.environment,
            "revision": r.revision,
            "previous": r.previous,
            "first_deploy": r.first_deploy,
            "phase": r.phase.value,
            "reason": r.reason,
            "cause": self.cause,
            "failed_by": r.failed_by or None,
            "started": iso(r.created),
            "finished": iso(r.finished),
            "duration_s": self.duration_s,
            "steps": [{"weight": s.weight, "hold_s": s.hold} for s in r.steps],
            "traffic": [p.to_json() for p in self.traffic],
            "gates": {
                "health": {"passes": r.gate_passes, "last_probe": r.last_probe} if r.url else None,
                "smoke": r.smoke,
            },
            "verdicts": [look.to_json() for look in self.looks],
            # the look that decided (the last one), whole: per metric the data, test, p-value, interval, effect
            "last_verdict": {"step": last.step, "look": last.look, **last.verdict.to_json()}
            if last
            else None,
            "rollback": self.rollback.to_json() if self.rollback else None,
            "transitions": [t.to_json() for t in self.transitions],
            "notifications": {"failures": list(self.notify_failures)},
            "notes": list(self.notes),
            "exit_code": self.exit_code,
        }
        if self.action is not None:
            data["action"] = self.action
        return data

    def to_markdown(self) -> str:
        from keel.rollout.markdown import rollout_markdown

        return rollout_markdown(self.to_json())


def build_report(
    store: Store,
    rollout: Rollout,
    *,
    notify_failures: Sequence[str] = (),
    warnings: Sequence[str] = (),
    action: str | None = None,
    notes: Sequence[str] = (),
) -> RolloutReport:
    """The report of one rollout, read back from the store (what was persisted is what is reported)."""
    looks = tuple(
        LookReport(v["step"], v["look"], v["at"] - rollout.created, Verdict.from_json(v["verdict"]))
        for v in store.verdicts(rollout.id)
    )
    transitions = tuple(
        Transition(t["at"], Phase(t["from_phase"]), Phase(t["to_phase"]), t["reason"], t.get("weight"))
        for t in store.transitions(rollout.id)
    )
    rollback = None
    if rollout.switched_at is not None:
        rollback = RollbackReport(
            target=rollout.target,
            cause=rollout.failed_by or "manual",
            switched_at=rollout.switched_at,
            seconds_from_failure_to_switch=(
                round(rollout.switched_at - rollout.fail_at, 3) if rollout.fail_at is not None else None
            ),
            verified=rollout.phase is Phase.ROLLED_BACK,
            last_probe=rollout.last_probe,
        )
    # The cause of how it ended: the last turn towards rollback, failure or pause; none for a promotion
    # (a paused rollout that was resumed and then promoted has nothing left to explain).
    turns = (Phase.ROLLING_BACK, Phase.FAILED, Phase.PAUSED)
    causes = [t.reason for t in transitions if t.to_phase in turns]
    cause = causes[-1] if causes and rollout.phase is not Phase.PROMOTED else None
    return RolloutReport(
        rollout=rollout,
        cause=cause,
        looks=looks,
        traffic=traffic_timeline(rollout, transitions),
        transitions=transitions,
        rollback=rollback,
        notify_failures=tuple(notify_failures),
        warnings=tuple(warnings),
        action=action,
        notes=tuple(notes),
        exit_code=exit_code(rollout),
    )


def traffic_timeline(rollout: Rollout, transitions: Sequence[Transition]) -> tuple[TrafficPoint, ...]:
    """The new revision's weight over a deploy, from the weights stored with its transitions: one point per
    change (a deploy starts at 0 %)."""
    if rollout.kind is not Kind.DEPLOY:
        return ()
    points = [TrafficPoint(0.0, 0, "start")]
    for t in transitions:
        if t.weight is None or t.weight == points[-1].weight:
            continue
        at = t.at
        if t.to_phase is Phase.VERIFYING and rollout.switched_at is not None:
            at = rollout.switched_at  # traffic moved back when the switch returned
        event = {Phase.PROMOTED: "promoted", Phase.VERIFYING: "rolled back"}.get(t.to_phase)
        if event is None:
            index = _step_of(rollout, t.weight)
            event = f"step {index + 1}: {t.weight}%" if index is not None else f"{t.weight}%"
        points.append(TrafficPoint(round(max(at - rollout.created, 0.0), 3), t.weight, event))
    return tuple(points)


def _step_of(rollout: Rollout, weight: int) -> int | None:
    for i, step in enumerate(rollout.steps):
        if step.weight == weight:
            return i
    return None


@dataclass(frozen=True)
class RollbackPlan:
    """What ``rollback()`` would do: undo an interrupted rollout, or switch all traffic to ``target``."""

    action: str  # "undo_interrupted" or "switch"
    environment: str
    target: str | None
    traffic: Mapping[str, int]
    serving: str | None = None
    rollout: str | None = None  # the interrupted rollout
    revision: str | None = None  # its revision
    interrupted_phase: str | None = None
    candidates: tuple[Candidate, ...] = ()

    def describe(self) -> str:
        now = split_text(self.traffic)
        if self.action == "undo_interrupted":
            return (
                f"undo interrupted rollout {self.rollout} ({self.revision}, phase {self.interrupted_phase}): "
                f"all traffic to {self.target or '(none: first deploy)'}; now: {now}"
            )
        return f"all traffic in {self.environment} to {self.target} (now: {now}), then verify its readiness"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "target": self.target, "traffic": dict(self.traffic)}
        if self.action == "undo_interrupted":
            data.update(
                rollout=self.rollout, revision=self.revision, interrupted_phase=self.interrupted_phase
            )
        else:
            data.update(serving=self.serving, candidates=[c.to_json() for c in self.candidates])
        return {"dry_run": True, "plan": data, "description": self.describe(), "exit_code": 0}

    def to_markdown(self) -> str:
        return f"**keel rollback (dry run)**: would {self.describe()}\n"


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment as the store and the platform see it: the split, the revisions, the rollback targets,
    any unfinished rollout and the latest rollouts."""

    service: str
    environment: str
    traffic: Mapping[str, int]
    revisions: tuple[str, ...]
    unfinished: Rollout | None
    candidates: tuple[Candidate, ...]
    recent: tuple[Rollout, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "keel.environment/v1",
            "service": self.service,
            "environment": self.environment,
            "traffic": dict(self.traffic),
            "revisions": list(self.revisions),
            "unfinished_rollout": self.unfinished.id if self.unfinished else None,
            "candidates": [c.to_json() for c in self.candidates],
            "recent": [_recent(r) for r in self.recent],
        }

    def to_markdown(self) -> str:
        lines = [
            f"### {self.service} ({self.environment})",
            "",
            f"Traffic: {split_text(self.traffic)}",
        ]
        if self.unfinished is not None:
            lines.append(f"Unfinished rollout `{self.unfinished.id}` ({self.unfinished.phase.value}).")
        if self.candidates:
            lines += ["", "| -n | revision | status | available |", "|---:|---|---|---|"]
            for c in self.candidates:
                lines.append(f"| {c.n} | `{c.revision}` | {c.status} | {'yes' if c.available else 'no'} |")
        return "\n".join(lines) + "\n"


def _recent(r: Rollout) -> dict[str, Any]:
    return {
        "rollout": r.id,
        "kind": r.kind.value,
        "revision": r.revision,
        "phase": r.phase.value,
        "started": iso(r.created),
        "finished": iso(r.finished),
    }
