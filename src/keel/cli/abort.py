"""``keel abort --env E``: stop the environment's unfinished rollout (interrupted or paused)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

HELP = """Stop environment E's unfinished rollout: a release paused for a human (on_inconclusive: pause) or one
whose keel was killed. Before user traffic reached the new revision its gate fails and the revision is removed;
with traffic, all of it goes back to the revision that served before, which is then verified ready. A rollout
killed while promoting is finished instead (every gate had passed): use keel rollback to leave it.
Exit codes: 0 aborted (failed or rolled back, verified); 1 not carried out; 2 bad keel.yaml or options, or no
unfinished rollout; 3 the environment is locked by another keel; 5 the previous revision did not become ready."""


def abort(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    reason: str = typer.Option(
        "aborted by the operator", "--reason", envvar="KEEL_ABORT_REASON", help="Recorded with the rollout."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.cli.progress import RolloutView
    from keel.cli.reports import show_rollout
    from keel.rollout.release import Release
    from keel.spec import load_spec

    term = terminal()
    spec = load_spec(spec_file)
    view = RolloutView(term, live=output_format is OutputFormat.table)
    with view:
        report = asyncio.run(Release(spec, env, observer=view, handle_signals=True).abort(reason))
    show_rollout(term, report, output_format)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command("abort", help=HELP)(abort)
