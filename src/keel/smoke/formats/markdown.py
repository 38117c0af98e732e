"""The Markdown report: for CI job summaries and pull-request comments."""

from __future__ import annotations

from keel.smoke.formats.base import detail_of, request_of, summary_line
from keel.smoke.report import Outcome, SmokeReport

_ICON = {Outcome.passed: "✅", Outcome.failed: "❌", Outcome.skipped: "⏭️"}


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


class MarkdownFormat:
    name = "markdown"

    def render(self, report: SmokeReport) -> str:
        lines = [
            f"### {_ICON[Outcome.passed] if report.passed else _ICON[Outcome.failed]} {summary_line(report)}",
            "",
        ]
        lines += ["| | check | request | detail |", "|---|---|---|---|"]
        for result in report.results:
            lines.append(
                f"| {_ICON[result.outcome]} | {_cell(result.check)} | `{_cell(request_of(result))}` "
                f"| {_cell(detail_of(result))} |"
            )
        for note in report.notes:
            lines += ["", f"> {note}"]
        return "\n".join(lines) + "\n"
