"""How the commands show a rollout report: a table with charts on a terminal, JSON or Markdown otherwise,
and the Markdown summary also in $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from keel.cli.terminal import OutputFormat, Terminal

if TYPE_CHECKING:
    from keel.output import Report
    from keel.rollout.plan import DeployPlan
    from keel.rollout.report import RolloutReport


def emit(term: Terminal, report: Report, fmt: OutputFormat) -> bool:
    """JSON or Markdown on stdout through the shared output formats; False when ``fmt`` is the table (the
    caller draws it)."""
    from keel.output import render

    if fmt is OutputFormat.table:
        return False
    text = render(report, fmt.value)
    if fmt is OutputFormat.json:
        term.out.file.write(text)
        term.out.file.flush()
    else:  # verbatim: no Rich markup, emoji codes or wrapping
        term.out.print(text, markup=False, highlight=False, emoji=False, end="")
    return True


def step_summary(term: Terminal, report: Report) -> None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY when it is set (GitHub Actions)."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_file:
        return
    try:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(report.to_markdown() + "\n")
    except OSError as exc:
        term.warn(f"cannot write $GITHUB_STEP_SUMMARY: {exc.strerror}")


def deciding_lines(report: RolloutReport) -> list[str]:
    """``metric: outcome: reason`` per deciding metric, escaped for printing through Rich markup."""
    from rich.markup import escape

    return [f"{metric}: {outcome}: {escape(reason)}" for metric, outcome, reason in report.deciding_metrics()]


def show_rollout(term: Terminal, report: RolloutReport, fmt: OutputFormat) -> None:
    """The result of deploy, rollback or abort in the chosen format."""
    step_summary(term, report)
    if emit(term, report, fmt):
        return
    r = report.rollout
    code = report.exit_code
    style = "green" if code == 0 else "yellow" if code in (1, 4) else "red"
    term.print(f"[bold {style}]{r.phase.value.replace('_', ' ')}[/bold {style}]: {r.reason}")
    if report.cause:
        term.print(f"cause: {report.cause}")
    last = report.last_look
    if last is not None:
        term.print(f"last look ({last.verdict.judge} judge, step {last.step + 1}, look {last.look}):")
        for line in deciding_lines(report):
            term.print(f"  {line}")
    rollback = report.rollback
    if rollback is not None and rollback.seconds_from_failure_to_switch is not None:
        after = "the failure" if r.kind.value == "deploy" else "the rollback started"
        verified = "verified ready" if rollback.verified else "NOT verified ready"
        term.print(
            f"traffic back on {rollback.target} {rollback.seconds_from_failure_to_switch:.3f}s after {after}; "
            f"{verified}"
        )
    for note in report.notes:
        term.print(f"note: {note}")
    term.print(f"rollout {r.id} of {r.revision} in {r.environment}")
    if r.kind.value == "deploy":
        from keel.cli.charts import release_charts

        term.print(release_charts(report.to_json(), width=min(term.out.width, 100)))


def show_plan(term: Terminal, plan: DeployPlan, fmt: OutputFormat) -> None:
    """``keel deploy --dry-run``: the operations in order, then the notes."""
    if emit(term, plan, fmt):
        return
    from rich.markup import escape
    from rich.table import Table

    from keel.platforms.base import split_text

    now = split_text(plan.traffic) if plan.traffic is not None else "unknown"
    term.print(
        f"dry run: {plan.service} to {plan.environment} ({plan.platform}): new revision {plan.revision}; "
        f"serving now: {escape(now)}"
    )
    table = Table("#", "operation", "detail", "when")
    for i, call in enumerate(plan.calls, 1):
        table.add_row(str(i), call.operation, escape(call.detail), escape(call.when))
    term.print(table)
    for note in plan.notes:
        term.print(f"note: {escape(note)}")
