"""``keel dashboard export``: the dashboard's panels as a Grafana or Cloud Monitoring dashboard JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.terminal import terminal

# The spec option of every command, also spelt --spec (as the dashboard group spells it).
SPEC_OPTION = typer.Option(
    Path("keel.yaml"), "--file", "-f", "--spec", envvar="KEEL_FILE", help="The spec file."
)

HELP = """Write the dashboard of one environment as a Grafana dashboard JSON (provisionable; a Prometheus data
source variable; keel's deployments as annotations tagged keel, deploy, service:<service>,
environment:<env>) or a Cloud Monitoring dashboard JSON (mosaicLayout; PromQL over Managed Service for
Prometheus data). The same panels as `keel dashboard`; queries read the metrics and selector of keel.yaml's
alerts.signals. Commit the file (dashboards/) and `keel review` checks it stays up to date. Exit codes: 0
written, 2 bad keel.yaml, target or options."""


def export(
    target: str = typer.Option(
        "grafana", "--target", "-t", envvar="KEEL_DASHBOARD_TARGET", help="grafana or cloudmonitoring."
    ),
    env: str = typer.Option(
        "production", "--env", "-e", envvar="KEEL_ENV", help="Environment in keel.yaml the dashboard shows."
    ),
    spec_file: Path = SPEC_OPTION,
    output: Path | None = typer.Option(
        None, "--output", "-o", envvar="KEEL_DASHBOARD_OUTPUT", help="Write to this file instead of stdout."
    ),
) -> None:
    from keel.dashboard.exports import render
    from keel.dashboard.panels import dashboard_for
    from keel.spec import load_spec

    text = render(target, dashboard_for(load_spec(spec_file), env))
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    terminal().info(f"wrote {output} ({target}, {env})")


def register(group: typer.Typer) -> None:
    """``export``, and ``apply`` (its Cloud Monitoring counterpart), on the ``keel dashboard`` group."""
    from keel.cli import dashboard_apply

    group.command("export", help=HELP)(export)
    dashboard_apply.register(group)
