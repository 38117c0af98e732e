"""The secrets commands' reports: JSON (schema keel.secrets/v1) and Markdown; names and dates, never values."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from keel.output import markdown_cell
from keel.secrets.inventory import SecretRow
from keel.secrets.state import Rotation

SCHEMA = "keel.secrets/v1"


def when(at: float | None) -> str:
    return "-" if at is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def days(value: float | None) -> str:
    return "-" if value is None else f"{value:g}d"


@dataclass(frozen=True)
class SecretsReport:
    """``keel secrets list`` and ``due``: one row per declared secret."""

    service: str
    rows: tuple[SecretRow, ...]

    @property
    def due(self) -> tuple[SecretRow, ...]:
        return tuple(r for r in self.rows if r.due)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "service": self.service, "secrets": [r.to_json() for r in self.rows],
                "due": [r.name for r in self.due]}  # fmt: skip

    def to_markdown(self) -> str:
        lines = [f"### Secrets of {self.service}", "", "| secret | type | version | age | last rotated | every | state |",
                 "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in self.rows:
            cells = (r.name, r.type, str(r.current or "-"), days(r.age_days), when(r.last_rotated), days(r.every_days),
                     r.state)  # fmt: skip
            lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RotationReport:
    """One rotation: where it is, each step taken, and what the operator should still do."""

    rotation: Rotation
    steps: tuple[dict[str, Any], ...]

    @property
    def exit_code(self) -> int:
        r = self.rotation
        if r.phase.value in ("done", "grace") and not r.failed_step:
            return 0
        return 1

    def headline(self) -> str:
        r = self.rotation
        text = {
            "done": f"rotated: version {r.new_version} of {r.secret} is current",
            "grace": f"version {r.new_version} of {r.secret} is current; the old key verifies tokens until "
            f"{when(r.retire_at)}, then run keel secrets rotate {r.secret} --resume",
            "rolled_back": f"rolled back: {r.secret} keeps version {r.old_version}",
        }.get(r.phase.value, f"stopped at {r.phase.value}: keel secrets rotate {r.secret} --resume")
        return text

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "rotation": self.rotation.to_json(), "steps": list(self.steps),
                "summary": self.headline()}  # fmt: skip

    def to_markdown(self) -> str:
        r = self.rotation
        lines = [
            f"### Rotation {r.id} of {r.secret} ({r.type.value}): {r.phase.value}",
            "",
            self.headline(),
            "",
        ]
        if r.reason:
            lines += [f"Last failure: {r.reason}", ""]
        lines += ["| at | from | to | why |", "|---|---|---|---|"]
        for s in self.steps:
            cells = (when(s["at"]), s["from_phase"], s["to_phase"], s["reason"])
            lines.append("| " + " | ".join(markdown_cell(str(c)) for c in cells) + " |")
        lines += [f"- {note}" for note in r.notes]
        return "\n".join(lines) + "\n"
