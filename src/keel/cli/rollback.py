"""``keel rollback --env E``: put all traffic back on an earlier revision, then verify it is ready."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, Terminal, terminal
from keel.errors import ConfigError

if TYPE_CHECKING:
    from keel.rollout.report import EnvironmentStatus, RollbackPlan

HELP = """Roll environment E back: all traffic to the revision that served before the current one (-n 1, the
default), N served revisions back (-n N), or a named revision (--revision R); then check its readiness (not
liveness). A revision whose own release was aborted is never a target. When a keel deploy was interrupted
(kill -9), keel rollback undoes that rollout instead. A manual rollback never triggers an automatic one: if
the target is not ready, keel says so and leaves traffic where it is. Asks for confirmation unless --yes;
without a terminal it refuses to prompt. Exit codes: 0 rolled back and verified ready (or --list/--dry-run);
1 not carried out: a platform error (the message says which) or the confirmation was declined (if it stopped
part-way, run keel rollback again); 2 bad keel.yaml or options, or no valid target; 3 the environment is
locked by another keel; 5 traffic switched but the target did not become ready (a human is needed)."""


def _print_list(term: Terminal, status: EnvironmentStatus, fmt: OutputFormat) -> None:
    from keel.cli.reports import emit
    from keel.platforms.base import split_text

    if emit(term, status, fmt):
        return
    from rich.table import Table

    term.print(f"serving in {status.environment}: {split_text(status.traffic)}")
    if status.unfinished is not None:
        term.print(f"unfinished rollout {status.unfinished.id}: keel rollback undoes it first")
    if not status.candidates:
        term.print("no earlier served revision to roll back to")
        return
    table = Table("-n", "revision", "served since", "status", "available")
    for c in status.candidates:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.since))
        table.add_row(str(c.n), c.revision, since, c.status, "yes" if c.available else "no (removed)")
    term.print(table)


def rollback(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    steps_back: int | None = typer.Option(
        None, "-n", envvar="KEEL_ROLLBACK_N", help="Go N served revisions back (default 1)."
    ),
    revision: str = typer.Option(
        "", "--revision", "-r", envvar="KEEL_ROLLBACK_REVISION", help="Target revision."
    ),
    list_only: bool = typer.Option(
        False, "--list", envvar="KEEL_ROLLBACK_LIST", help="List rollback targets and exit."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", envvar="KEEL_DRY_RUN", help="Show the plan, change nothing."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", envvar="KEEL_YES", help="Do not ask for confirmation."),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.cli.progress import RolloutView
    from keel.cli.reports import emit, show_rollout
    from keel.rollout.release import Release, check_rollback_target
    from keel.spec import load_spec

    term = terminal()
    spec = load_spec(spec_file)
    check_rollback_target(steps_back, revision or None)
    if list_only:
        _print_list(term, asyncio.run(Release(spec, env).status()), output_format)
        return
    if dry_run:
        plan = asyncio.run(Release(spec, env).plan_rollback(steps_back=steps_back, revision=revision or None))
        if not emit(term, plan, output_format):
            term.print(f"dry run: would {plan.describe()}")
        return
    if not yes and not term.interactive:
        raise ConfigError(
            "keel rollback needs confirmation: refusing to prompt without a terminal; pass --yes"
        )

    def confirm(plan: RollbackPlan) -> bool:
        return yes or typer.confirm(f"Roll back: {plan.describe()}?", default=False, err=True)

    view = RolloutView(term, live=output_format is OutputFormat.table)
    release = Release(spec, env, observer=view, handle_signals=True)
    with view:
        report = asyncio.run(
            release.rollback(steps_back=steps_back, revision=revision or None, confirm=confirm)
        )
    show_rollout(term, report, output_format)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command("rollback", help=HELP)(rollback)
