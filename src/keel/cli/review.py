"""``keel review``: the production readiness review of the project around keel.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keel.cli.options import FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

if TYPE_CHECKING:
    from keel.review import ReviewReport

HELP = """Review the project's production readiness: keel.yaml, the GitHub workflows, docs/runbooks and,
with --url, the running service's /health/ready and /health/deep. Each item (P0, P1, P2) gets pass, fail,
warn or skipped with its evidence and the fix; the score weighs them by priority. --format json (schema
keel.review/v1) for scripts, markdown for a pull-request comment. Exit codes: 0 no P0 item open; 1 a P0 item
is open; 2 bad keel.yaml or options."""


def review(
    spec_file: Path = FILE_OPTION,
    url: str | None = typer.Option(
        None, "--url", envvar="KEEL_REVIEW_URL", help="Base URL of the running service to probe."
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="KEEL_HEALTH_TOKEN", help="Health token for /health/deep.", show_default=False
    ),
    timeout: float = typer.Option(
        5.0, "--timeout", min=0.1, envvar="KEEL_REVIEW_TIMEOUT", help="Seconds for each live request."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.cli.reports import emit, step_summary
    from keel.review import load_project
    from keel.review import review as run_review

    term = terminal()
    report = run_review(load_project(spec_file, url=url, token=token, timeout=timeout))
    step_summary(term, report)
    if not emit(term, report, output_format):
        show_table(report)
    raise typer.Exit(report.exit_code)


def show_table(report: ReviewReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    term = terminal()
    styles = {"pass": "green", "fail": "red", "warn": "yellow", "skipped": "dim"}
    table = Table("priority", "status", "item", "evidence", "fix")
    for item in report.by_priority():
        style = styles[item.status.value]
        table.add_row(
            item.priority.value,
            f"[{style}]{item.status.value}[/{style}]",
            escape(item.title),
            escape(item.evidence),
            escape(item.fix),
        )
    term.print(f"keel review of {escape(report.project)}: {escape(report.summary())}")
    term.print(table)


def register(app: typer.Typer) -> None:
    app.command("review", help=HELP)(review)
