"""``keel dora``: DORA and deployment metrics of one environment over a window, for a CI step or a person."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

HELP = """DORA and deployment metrics of environment E over the last --days days, from keel's own records:
deployment frequency, lead time for changes, change failure rate, rollback rate, deployment success rate and
time to restore, each with its definition. --format json (schema keel.dora/v1) is stable for CI steps.
Exit codes: 0 shown, 2 bad keel.yaml or options."""

MAX_DAYS = 3650


def dora_command(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
    days: float = typer.Option(
        30.0, "--days", min=0.001, max=MAX_DAYS, envvar="KEEL_DORA_DAYS", help="Window: the last N days."
    ),
) -> None:
    from keel.dashboard.dora import display, dora
    from keel.dashboard.history import History, HistoryReader
    from keel.rollout.wiring import existing_store
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    spec.environment(env)
    end = time.time()
    start = end - days * 86400.0
    store = existing_store(spec)
    if store is None:  # nothing was ever released here: every figure is "no data"
        history = History(start, end, ())
    else:
        with store:
            history = HistoryReader(store, spec.service, env).history(start, end)
    report = dora(history)
    term = terminal()
    if output_format is OutputFormat.json:
        term.json({"service": spec.service, "environment": env, **report.to_json()})
        return
    if output_format is OutputFormat.markdown:
        lines = [
            f"### DORA: {spec.service} ({env}), last {days:g} days",
            "",
            "| metric | value | definition |",
        ]
        lines.append("|---|---:|---|")
        lines += [f"| {m.title} | {display(m)} | {m.definition} |" for m in report.metrics]
        term.out.print("\n".join(lines), markup=False, highlight=False, emoji=False)
        return
    from rich.table import Table

    table = Table("metric", "value", "from", title=f"{spec.service} ({env}): last {days:g} days")
    for m in report.metrics:
        basis = ", ".join(f"{k} {v}" for k, v in m.detail.items() if v is not None)
        table.add_row(m.title, display(m), basis)
    term.print(table)


def register(app: typer.Typer) -> None:
    app.command("dora", help=HELP)(dora_command)
