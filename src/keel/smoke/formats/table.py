"""The terminal table (Rich): one row per check, failures explained in place."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from keel.smoke.formats.base import detail_of, request_of, summary_line
from keel.smoke.report import Outcome, SmokeReport

_STYLE = {
    Outcome.passed: ("PASS", "green"),
    Outcome.failed: ("FAIL", "bold red"),
    Outcome.skipped: ("SKIP", "yellow"),
}


class TableFormat:
    name = "table"

    def renderable(self, report: SmokeReport) -> Group:
        table = Table(show_edge=False, pad_edge=False, expand=False)
        table.add_column("", no_wrap=True)
        table.add_column("check / request", overflow="fold", min_width=24)
        table.add_column("status", justify="right", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        table.add_column("detail", overflow="fold", min_width=24)
        for result in report.results:
            label, style = _STYLE[result.outcome]
            status = getattr(result, "status", None)
            duration = getattr(result, "duration_s", None)
            name = Text(result.check)
            name.append("\n" + request_of(result), style="dim")
            table.add_row(
                Text(label, style=style),
                name,
                "" if status is None else str(status),
                "" if duration is None else f"{duration * 1000:.0f} ms",
                Text(detail_of(result)),
            )
        summary = Text(summary_line(report), style="green" if report.passed else "bold red")
        return Group(table, *(Text(note, style="yellow") for note in report.notes), summary)

    def render(self, report: SmokeReport) -> str:
        buffer = io.StringIO()
        Console(file=buffer, width=160, no_color=True, highlight=False, soft_wrap=False).print(
            self.renderable(report)
        )
        return buffer.getvalue()
