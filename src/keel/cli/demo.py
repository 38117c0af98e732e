"""``keel demo``: the main job on embedded defaults, with nothing installed beyond Python."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import typer

from keel.cli.options import FORMAT_OPTION
from keel.cli.terminal import OutputFormat, Terminal, terminal

HELP = """Start a local environment with the Bayit+ API (SQLite, seeded catalog), drive steady synthetic traffic
at its router, release a good revision through the whole canary (10% -> 50% -> 100%), then a faulty one (10%
of API requests fail and all are 300 ms slower) which keel catches at 10% and rolls back. Ends with a summary
of both releases and of the traffic. Holds are shortened (--hold); it takes about two minutes.
Exit codes: 0 the good release was promoted and the faulty one rolled back; 1 otherwise; 2 bad options."""


def _print_summary(term: Terminal, result: dict[str, Any]) -> None:
    """The closing summary on a terminal, drawn from the demo's JSON (keel.demo/v1)."""
    from rich.table import Table

    from keel.cli.charts import demo_traffic, release_charts
    from keel.demo.run import NAMES, traffic_line, why

    table = Table("release", "revision", "outcome", "why", "s", title="keel demo: the releases")
    for name, r in zip(NAMES, result["releases"], strict=False):
        table.add_row(name, r["revision"], r["phase"].replace("_", " "), why(r), f"{r['duration_s']:.0f}")
    term.print(table)
    width = min(term.out.width, 100)
    for name, r in zip(NAMES, result["releases"], strict=False):
        term.print(f"\n[bold]{name} release[/bold] {r['revision']}: {r['phase'].replace('_', ' ')}")
        term.print(release_charts(r, width=width))
    t = result["traffic"]
    term.print(traffic_line(t))
    if result.get("alerts"):
        from keel.demo.run import alerts_line

        term.print(f"alerts (keel's embedded watcher): {alerts_line(result['alerts'])}")
    term.print(demo_traffic(t.get("timeline") or {}, width=width))
    verdict = "[green]as expected[/green]" if result["exit_code"] == 0 else "[red]not as expected[/red]"
    term.print(f"demo finished in {result['seconds']:.0f}s: {verdict}")
    if result["kept_running"]:
        term.print(
            f"the environment still runs: keel status --file {result['directory']}/keel.yaml --env demo"
        )
        term.print(f"stop it with: keel down --file {result['directory']}/keel.yaml --env demo")
        from keel.cli.dashboard import dashboard_hint

        term.print(dashboard_hint(Path(result["directory"]) / "keel.yaml", "demo"))


def demo(
    directory: Path = typer.Option(
        None,
        "--dir",
        envvar="KEEL_DEMO_DIR",
        help="Directory for the demo's files (default: a new temp dir).",
    ),
    port: int = typer.Option(0, "--port", envvar="KEEL_DEMO_PORT", help="Router port (default: a free one)."),
    hold: float = typer.Option(
        15.0, "--hold", envvar="KEEL_DEMO_HOLD", min=3.0, help="Seconds of the 10% hold."
    ),
    rate: float = typer.Option(
        40.0, "--rate", envvar="KEEL_DEMO_RATE", min=5.0, help="Synthetic requests/s."
    ),
    keep: bool = typer.Option(
        False, "--keep", envvar="KEEL_DEMO_KEEP", help="Leave the environment running."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.cli.progress import RolloutView
    from keel.cli.reports import emit
    from keel.demo.run import run_demo

    term = terminal()
    where = directory or Path(tempfile.mkdtemp(prefix="keel-demo-"))
    view = RolloutView(term, live=output_format is OutputFormat.table)
    with view:
        report = asyncio.run(
            run_demo(where, port=port, hold=hold, rate=rate, keep=keep, observer=view, say=term.info)
        )
    if not emit(term, report, output_format):
        _print_summary(term, report.to_json())
    elif keep:  # JSON or Markdown on stdout: the way to the dashboard goes to stderr
        from keel.cli.dashboard import dashboard_hint

        term.info(dashboard_hint(where / "keel.yaml", "demo"))
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP)(demo)
