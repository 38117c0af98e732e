"""The review's result: each item's status, evidence and fix, a score weighted by priority, and its JSON
(schema keel.review/v1) and Markdown renderings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keel.output import markdown_cell
from keel.review.checks import CHECKS, Check, Priority, Status
from keel.review.project import ProjectView

SCHEMA = "keel.review/v1"
WEIGHTS = {Priority.P0: 5, Priority.P1: 3, Priority.P2: 1}
CREDIT = {Status.passed: 1.0, Status.warn: 0.5, Status.failed: 0.0}  # skipped items are not scored
ICONS = {Status.passed: "✅", Status.warn: "⚠️", Status.failed: "❌", Status.skipped: "⏭️"}


@dataclass(frozen=True)
class ReviewItem:
    id: str
    priority: Priority
    title: str
    status: Status
    evidence: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "priority": self.priority.value,
            "title": self.title,
            "status": self.status.value,
            "evidence": self.evidence,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class ReviewReport:
    project: str
    spec_file: str
    url: str | None
    items: tuple[ReviewItem, ...]

    @property
    def score(self) -> int:
        scored = [i for i in self.items if i.status in CREDIT]
        possible = sum(WEIGHTS[i.priority] for i in scored)
        earned = sum(WEIGHTS[i.priority] * CREDIT[i.status] for i in scored)
        return round(100 * earned / possible) if possible else 100

    def open_items(self, priority: Priority) -> list[ReviewItem]:
        return [i for i in self.items if i.priority is priority and i.status is Status.failed]

    @property
    def exit_code(self) -> int:
        """1 while a P0 item is open, else 0."""
        return 1 if self.open_items(Priority.P0) else 0

    def by_priority(self) -> list[ReviewItem]:
        order = list(Priority)
        return sorted(self.items, key=lambda i: order.index(i.priority))

    def summary(self) -> str:
        counts = ", ".join(f"{len(self.open_items(p))} {p.value} open" for p in Priority)
        return f"{self.score}/100 ({counts})"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "project": self.project,
            "spec_file": self.spec_file,
            "url": self.url,
            "score": self.score,
            "open": {p.value: len(self.open_items(p)) for p in Priority},
            "passed": self.exit_code == 0,
            "items": [i.to_json() for i in self.by_priority()],
        }

    def to_markdown(self) -> str:
        verdict = "no P0 open" if self.exit_code == 0 else "P0 items open: not ready for production"
        lines = [
            f"## keel review: {self.project}: {self.summary()}",
            "",
            f"{verdict}.",
            "",
            "| Priority | Status | Item | Evidence | Fix |",
            "|---|---|---|---|---|",
        ]
        for i in self.by_priority():
            cells = [
                i.priority.value,
                f"{ICONS[i.status]} {i.status.value}",
                i.title,
                i.evidence,
                i.fix or "-",
            ]
            lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"


def review(view: ProjectView, checks: Sequence[Check] = CHECKS) -> ReviewReport:
    """Run every check over the view (pure: nothing is read or written here)."""
    items = []
    for check in checks:
        finding = check.run(view)
        items.append(
            ReviewItem(check.id, check.priority, check.title, finding.status, finding.evidence, finding.fix)
        )
    return ReviewReport(view.spec.service, view.doc.file, view.url, tuple(items))
