"""``keel dashboard apply``: create or update the Cloud Monitoring dashboard of one environment."""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.dashboard_export import SPEC_OPTION
from keel.cli.options import FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

HELP = """Create or update the environment's Cloud Monitoring dashboard (the cloudmonitoring export) with
Application Default Credentials; the dashboard keel made before for the same service and environment is
replaced in place. Exit codes: 0 applied, 1 refused by the API, 2 bad keel.yaml or options."""


def apply(
    env: str = typer.Option(
        "production", "--env", "-e", envvar="KEEL_ENV", help="Environment in keel.yaml the dashboard shows."
    ),
    spec_file: Path = SPEC_OPTION,
    project: str | None = typer.Option(
        None, "--project", envvar="KEEL_DASHBOARD_PROJECT",
        help="Google Cloud project (default: the environment's Cloud Run project).",
    ),
    api_endpoint: str | None = typer.Option(
        None, "--api-endpoint", envvar="KEEL_MONITORING_ENDPOINT", help="Monitoring API host:port."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:  # fmt: skip
    from keel.dashboard.exports import export
    from keel.dashboard.exports.apply import apply_dashboard
    from keel.dashboard.panels import dashboard_for
    from keel.errors import ConfigError
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    document = export("cloudmonitoring", dashboard_for(spec, env))
    project = project or getattr(spec.environment(env), "project", None)
    if not project:
        raise ConfigError(f"environment {env!r} names no Google Cloud project: give --project")
    applied = apply_dashboard(document, project, api_endpoint=api_endpoint)
    term = terminal()
    if output_format is OutputFormat.json:
        term.json(applied.to_json())
    else:
        term.print(f"{applied.action}: {applied.name} ({document['displayName']})")


def register(group: typer.Typer) -> None:
    group.command("apply", help=HELP)(apply)
