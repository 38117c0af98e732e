"""What ``keel deploy`` would do, changing nothing: the platform calls in order, the gates, the canary steps and
what the analysis can judge in each (``keel deploy --dry-run``; reviewers read it in pull requests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.output import markdown_cell
from keel.platforms.base import split_text


@dataclass(frozen=True)
class PlannedCall:
    """One operation the release would perform, in order, with what decides whether it happens."""

    operation: str
    detail: str
    when: str = "always"

    def to_json(self) -> dict[str, str]:
        return {"operation": self.operation, "detail": self.detail, "when": self.when}


@dataclass(frozen=True)
class DeployPlan:
    """The plan of one release (schema ``keel.plan/v1``)."""

    service: str
    environment: str
    platform: str
    revision: str
    serving: str | None
    traffic: Mapping[str, int] | None  # None: the platform could not be read (``platform_error`` says why)
    calls: tuple[PlannedCall, ...]
    notes: tuple[str, ...] = ()
    platform_error: str | None = None
    revision_env: tuple[str, ...] = ()  # names only: values may be secrets
    image: str | None = None
    analysis: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> int:
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "keel.plan/v1",
            "dry_run": True,
            "service": self.service,
            "environment": self.environment,
            "platform": self.platform,
            "revision": self.revision,
            "serving": self.serving,
            "traffic": dict(self.traffic) if self.traffic is not None else None,
            "platform_error": self.platform_error,
            "image": self.image,
            "revision_env": list(self.revision_env),
            "calls": [c.to_json() for c in self.calls],
            "analysis": [dict(a) for a in self.analysis],
            "notes": list(self.notes),
        }

    def to_markdown(self) -> str:
        now = split_text(self.traffic) if self.traffic is not None else f"unknown ({self.platform_error})"
        lines = [
            f"### keel deploy --dry-run: {self.service} → {self.environment} ({self.platform})",
            "",
            f"New revision `{self.revision}`; serving now: {now}.",
            "",
            "| # | operation | detail | when |",
            "|---:|---|---|---|",
        ]
        for i, call in enumerate(self.calls, 1):
            lines.append(
                f"| {i} | {call.operation} | {markdown_cell(call.detail)} | {markdown_cell(call.when)} |"
            )
        for note in self.notes:
            lines += ["", f"> {note}"]
        return "\n".join(lines) + "\n"


def deploy_calls(
    *,
    revision: str,
    serving: str | None,
    steps: tuple[tuple[int, float], ...],
    health: str,
    smoke: str,
    rollback_probe: str,
) -> tuple[PlannedCall, ...]:
    """The release's operations in order: deploy with no traffic, the gates on the revision's own URL, each
    step's traffic change and hold, the promotion; and the rollback that any failure would run."""
    calls = [
        PlannedCall("deploy", f"create revision {revision} with 0% of traffic, reachable on its own tag URL"),
        PlannedCall("health gate", health),
        PlannedCall("smoke gate", smoke),
    ]
    if serving is None:
        calls.append(
            PlannedCall(
                "set traffic", f"{revision} 100% (first deploy: no revision to split with)", "gates passed"
            )
        )
    else:
        for weight, hold in steps:
            split = {revision: weight, serving: 100 - weight} if weight < 100 else {revision: 100}
            held = f"; hold {hold:g}s with analysis" if hold > 0 else ""
            calls.append(PlannedCall("set traffic", split_text(split) + held, "the previous step passed"))
        calls.append(
            PlannedCall(
                "rollback",
                f"{serving} 100%, then {rollback_probe}",
                "a gate after traffic, the analysis, a traffic change or an abort fails",
            )
        )
    calls.append(
        PlannedCall("promote", f"record {revision} as serving; older revisions pruned", "every step passed")
    )
    return tuple(calls)
