"""The result of a rollout as stable JSON (for CI) and as a Markdown summary (for $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from keel.rollout.phases import Kind, Phase
from keel.rollout.state import Rollout
from keel.store import Store

# Exit codes of keel deploy and keel rollback (documented in their --help and docs/architecture.md).
EXIT_CODES: dict[Phase, int] = {
    Phase.PROMOTED: 0,
    Phase.ROLLED_BACK: 1,
    Phase.FAILED: 1,
    Phase.PAUSED: 4,
    Phase.ROLLBACK_FAILED: 5,
}


def exit_code(rollout: Rollout) -> int:
    if rollout.kind is Kind.ROLLBACK and rollout.phase is Phase.ROLLED_BACK:
        return 0
    return EXIT_CODES.get(rollout.phase, 1)


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts is not None else None


def report(store: Store, rollout: Rollout, notify_failures: Sequence[str] = ()) -> dict[str, Any]:
    """Everything a pipeline needs to know about one rollout (schema ``keel.rollout/v1``)."""
    stored = store.verdicts(rollout.id)
    verdicts = [
        {
            "step": v["step"],
            "look": v["look"],
            "outcome": v["outcome"],
            "judge": v["verdict"].get("judge"),
            "summary": v["verdict"].get("summary", ""),
            "metrics": [
                {k: m.get(k) for k in ("metric", "outcome", "critical", "reason")}
                for m in v["verdict"].get("metrics") or ()
            ],
            **look_facts(v["verdict"], v["at"] - rollout.created),
        }
        for v in stored
    ]
    # the look that decided (the last one), whole: per metric the data, test, p-value, interval, effect, rule
    last_verdict = (
        {"step": stored[-1]["step"], "look": stored[-1]["look"], **stored[-1]["verdict"]} if stored else None
    )
    rollback = None
    if rollout.switched_at is not None:
        rollback = {
            "target": rollout.target,
            "cause": rollout.failed_by or "manual",
            "switched_at": _iso(rollout.switched_at),
            "seconds_from_failure_to_switch": (
                round(rollout.switched_at - rollout.fail_at, 3) if rollout.fail_at is not None else None
            ),
            "verified": rollout.phase is Phase.ROLLED_BACK,
            "last_probe": rollout.last_probe,
        }
    finished = rollout.finished
    transitions = store.transitions(rollout.id)
    # The cause of how it ended: the last turn towards rollback, failure or pause; none for a promotion
    # (a paused rollout that was resumed and then promoted has nothing left to explain).
    causes = [t["reason"] for t in transitions if t["to_phase"] in ("rolling_back", "failed", "paused")]
    cause = causes[-1] if causes and rollout.phase is not Phase.PROMOTED else None
    return {
        "schema": "keel.rollout/v1",
        "rollout": rollout.id,
        "kind": rollout.kind.value,
        "service": rollout.service,
        "environment": rollout.environment,
        "revision": rollout.revision,
        "previous": rollout.previous,
        "first_deploy": rollout.first_deploy,
        "phase": rollout.phase.value,
        "reason": rollout.reason,
        "cause": cause,
        "failed_by": rollout.failed_by or None,
        "started": _iso(rollout.created),
        "finished": _iso(finished),
        "duration_s": round(finished - rollout.created, 3) if finished is not None else None,
        "steps": [{"weight": s.weight, "hold_s": s.hold} for s in rollout.steps],
        "traffic": traffic_timeline(rollout, transitions),
        "gates": {
            "health": {"passes": rollout.gate_passes, "last_probe": rollout.last_probe}
            if rollout.url
            else None,
            "smoke": rollout.smoke,
        },
        "verdicts": verdicts,
        "last_verdict": last_verdict,
        "rollback": rollback,
        "transitions": [
            {"at": _iso(t["at"]), "from": t["from_phase"], "to": t["to_phase"], "reason": t["reason"]}
            for t in transitions
        ],
        "notifications": {"failures": list(notify_failures)},
        "exit_code": exit_code(rollout),
    }


_STEP = re.compile(r"^step (\d+)/\d+:")
_FACT_KEYS = ("requests", "errors", "error_rate", "p95_ms")


def traffic_timeline(rollout: Rollout, transitions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The new revision's weight over the rollout, read from its transitions: ``{"t_s": seconds from the start,
    "weight": percent, "event": what moved it}``, one point per change (a deploy starts at 0 %)."""
    if rollout.kind is not Kind.DEPLOY:
        return []
    points: list[dict[str, Any]] = [{"t_s": 0.0, "weight": 0, "event": "start"}]

    def add(at: float, weight: int, event: str) -> None:
        if weight != points[-1]["weight"]:
            points.append({"t_s": round(max(at - rollout.created, 0.0), 3), "weight": weight, "event": event})

    for t in transitions:
        match = _STEP.match(t["reason"] or "")
        if t["to_phase"] == "holding" and match:
            index = int(match.group(1)) - 1
            if 0 <= index < len(rollout.steps):
                add(t["at"], rollout.steps[index].weight, f"step {index + 1}: {rollout.steps[index].weight}%")
        elif t["to_phase"] == "promoted":
            add(t["at"], 100, "promoted")
        elif t["to_phase"] == "verifying":  # traffic has moved back to the rollback target
            at = rollout.switched_at if rollout.switched_at is not None else t["at"]
            add(at, 0, "rolled back")
    return points


def deciding_metrics(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, outcome, reason) of the last look's metrics: the failing ones when it failed, else all."""
    last = result.get("last_verdict") or {}
    metrics = [(m["metric"], m["outcome"], str(m.get("reason", ""))) for m in last.get("metrics") or ()]
    failing = [m for m in metrics if m[1] == "fail"]
    return failing if last.get("outcome") == "fail" and failing else metrics


def deciding_lines(result: dict[str, Any]) -> list[str]:
    """``metric: outcome: reason`` per deciding metric, escaped for printing through Rich markup."""
    from rich.markup import escape

    return [f"{metric}: {outcome}: {escape(reason)}" for metric, outcome, reason in deciding_metrics(result)]


def look_facts(verdict: dict[str, Any], t_s: float) -> dict[str, Any]:
    """Per-look numbers for charts: when (seconds from the start), the canary's and the baseline's requests,
    errors, error rate and p95 (ms), and the judge's limits where it has fixed ones."""
    canary: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    limits: dict[str, float] = {}
    for metric in verdict.get("metrics") or ():
        data = metric.get("data") or {}
        if canary is None and isinstance(data.get("canary"), dict):
            canary = {k: data["canary"].get(k) for k in _FACT_KEYS}
        if baseline is None and isinstance(data.get("baseline"), dict):
            baseline = {k: data["baseline"].get(k) for k in _FACT_KEYS}
        if data.get("min_success_rate") is not None:
            limits["max_error_rate"] = round(1.0 - float(data["min_success_rate"]), 6)
        if metric.get("metric") == "latency-p95" and data.get("max_ms") is not None:
            limits["max_p95_ms"] = float(data["max_ms"])
    return {"t_s": round(t_s, 3), "canary": canary, "baseline": baseline, "limits": limits}


_BADGE = {
    "promoted": "✅ promoted",
    "rolled_back": "↩️ rolled back",
    "failed": "⛔ stopped at a gate",
    "paused": "⏸️ paused",
    "rollback_failed": "🚨 rollback needs attention",
}


def markdown(result: dict[str, Any]) -> str:
    """A short Markdown summary for CI: outcome, facts, steps, analysis and the rollback result."""
    kind = "rollback" if result["kind"] == "rollback" else "deploy"
    badge = _BADGE.get(result["phase"], result["phase"])
    if kind == "rollback" and result["phase"] == "rolled_back":
        badge = "↩️ rolled back (manual)"
    lines = [
        f"### keel {kind}: {result['service']} → {result['environment']}: {badge}",
        "",
        "| | |",
        "|---|---|",
        f"| revision | `{result['revision']}` |",
        f"| previous | `{result['previous']}` |"
        if result["previous"]
        else "| previous | none (first deploy) |",
        f"| rollout | `{result['rollout']}` |",
        f"| duration | {result['duration_s']} s |",
        f"| result | {markdown_cell(result['reason'])} |",
    ]
    if result.get("cause"):
        lines.append(f"| cause | {markdown_cell(result['cause'])} |")
    if result["steps"]:
        steps = ", ".join(f"{s['weight']}% ({s['hold_s']:g}s)" for s in result["steps"])
        lines.append(f"| steps | {steps} |")
    smoke = (result.get("gates") or {}).get("smoke")
    if smoke:
        lines.append(f"| smoke gate | {markdown_cell(str(smoke.get('summary', '')))} |")
    if result["verdicts"]:
        lines += ["", "**Analysis**", ""]
        for v in result["verdicts"][-6:]:
            lines.append(
                f"- step {v['step'] + 1}, look {v['look']}: **{v['outcome']}**: {markdown_cell(v['summary'])}"
            )
    last = result.get("last_verdict")
    if last and last.get("metrics"):
        lines += [
            "",
            f"Last look ({last.get('judge')} judge):",
            "",
            "| metric | outcome | why |",
            "|---|---|---|",
        ]
        for m in last["metrics"]:
            lines.append(f"| {m['metric']} | {m['outcome']} | {markdown_cell(str(m.get('reason', '')))} |")
    rollback = result.get("rollback")
    if rollback:
        verified = "verified ready" if rollback["verified"] else "NOT verified ready"
        lines += [
            "",
            f"**Rollback** to `{rollback['target']}` ({rollback['cause']}): {verified}; "
            f"traffic switched {rollback['seconds_from_failure_to_switch']} s after "
            + ("the failure." if result["kind"] == "deploy" else "the rollback started."),
        ]
    if result["notifications"]["failures"]:
        lines += ["", "Notification failures: " + "; ".join(result["notifications"]["failures"])]
    return "\n".join(lines) + "\n"


def markdown_cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")
