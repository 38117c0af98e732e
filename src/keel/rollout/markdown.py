"""The Markdown summary of a rollout (what keel writes to $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.output import markdown_cell

_BADGE = {
    "promoted": "✅ promoted",
    "rolled_back": "↩️ rolled back",
    "failed": "⛔ stopped at a gate",
    "paused": "⏸️ paused",
    "rollback_failed": "🚨 rollback needs attention",
}


def rollout_markdown(result: Mapping[str, Any]) -> str:
    """A short Markdown summary for CI (from the keel.rollout/v1 JSON): outcome, facts, steps, analysis and the
    rollback result."""
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
    for note in result.get("notes") or ():
        lines += ["", f"> {note}"]
    if result["notifications"]["failures"]:
        lines += ["", "Notification failures: " + "; ".join(result["notifications"]["failures"])]
    return "\n".join(lines) + "\n"
