"""``keel alerts render|test|status|apply``: generated alerting configuration and the state of alerts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from keel.cli.options import FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

HELP = """Alerting from keel.yaml's alerts: and slos: sections. render writes Prometheus rules, an Alertmanager
configuration, promtool unit tests or Cloud Monitoring policies; test sends a marked test notification through
every routed channel; status lists firing alerts (the watcher's store, or Alertmanager with --alertmanager);
apply creates or updates the Cloud Monitoring alert policies and notification channels."""

ENV_OPTION = typer.Option(
    "production", "--env", "-e", envvar="KEEL_ENV", help="Environment the alerts are for (a label on each)."
)

alerts_app = typer.Typer(name="alerts", help=HELP, no_args_is_help=True)


@alerts_app.command("render")
def render(
    target: str = typer.Option(
        "prometheus",
        "--target",
        "-t",
        envvar="KEEL_ALERTS_TARGET",
        help="prometheus, alertmanager, promtool-tests or cloudmonitoring.",
    ),
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output: Path | None = typer.Option(
        None, "--output", "-o", envvar="KEEL_ALERTS_OUTPUT", help="Write to this file instead of stdout."
    ),
) -> None:
    """Render one target's file. Exit codes: 0 written, 2 bad keel.yaml, target or options."""
    from keel.slo.render import render as render_target
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    spec.environment(env)
    text = render_target(target, spec.alerts, spec.slos, spec.notify.channels, spec.service, env)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        terminal().info(f"wrote {output} ({target})")


@alerts_app.command("test")
def send_test(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
    timeout: float = typer.Option(
        5.0, "--timeout", envvar="KEEL_ALERTS_TIMEOUT", help="Seconds per channel."
    ),
) -> None:
    """Send a [TEST] notification through each routed channel. Exit codes: 0 all delivered, 1 one failed,
    2 bad keel.yaml or options."""
    from keel.slo.channels import send_tests
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    spec.environment(env)
    results = asyncio.run(send_tests(spec.alerts, spec.notify.channels, spec.service, env, wait=timeout))
    term = terminal()
    if output_format is OutputFormat.json:
        term.json({"deliveries": [r.to_json() for r in results]})
    else:
        for r in results:
            mark = "ok" if r.ok else "FAILED"
            term.print(f"{r.channel} ({', '.join(r.severities)}): {mark}: {r.message}")
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@alerts_app.command("status")
def status(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
    alertmanager: str | None = typer.Option(
        None, "--alertmanager", envvar="KEEL_ALERTMANAGER_URL", help="Read Alertmanager's API at this URL."
    ),
) -> None:
    """List firing alerts. Exit codes: 0 none firing, 3 some firing, 1 cannot read, 2 bad input."""
    from keel.slo import status as alert_status
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    spec.environment(env)
    if alertmanager:
        found = asyncio.run(alert_status.from_alertmanager(alertmanager, spec.service))
    else:
        from keel.rollout.wiring import open_store

        with open_store(spec) as store:
            found = alert_status.from_store(store, spec.service, env)
    term = terminal()
    if output_format is OutputFormat.json:
        term.json({"alerts": [a.to_json() for a in found]})
    elif not found:
        term.print(f"no alerts firing for {spec.service} ({env})")
    else:
        from rich.table import Table

        table = Table("alert", "severity", "state", "value", "since", "source")
        for a in found:
            value = "-" if a.value is None else f"{a.value:.4g}"
            table.add_row(a.name, a.severity, a.state, value, _ago(a.since), a.source)
        term.print(table)
    if any(a.state == "firing" for a in found):
        raise typer.Exit(3)


@alerts_app.command("apply")
def apply(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
    project: str | None = typer.Option(
        None,
        "--project",
        envvar="KEEL_ALERTS_PROJECT",
        help="Google Cloud project (default: alerts.cloudmonitoring.project, else the environment's).",
    ),
    api_endpoint: str | None = typer.Option(
        None, "--api-endpoint", envvar="KEEL_MONITORING_ENDPOINT", help="Monitoring API host:port."
    ),
) -> None:
    """Create or update the Cloud Monitoring channels and alert policies (Application Default Credentials).
    Exit codes: 0 applied, 1 refused by the API, 2 bad keel.yaml or options."""
    import json

    from keel.errors import ConfigError
    from keel.slo.apply import apply_document
    from keel.slo.render import render as render_target
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    environment = spec.environment(env)
    project = project or spec.alerts.cloudmonitoring.project or getattr(environment, "project", None)
    if not project:
        raise ConfigError(f"environment {env!r} names no Google Cloud project: give --project")
    text = render_target("cloudmonitoring", spec.alerts, spec.slos, spec.notify.channels, spec.service, env)
    report = apply_document(json.loads(text), project, api_endpoint=api_endpoint)
    term = terminal()
    if output_format is OutputFormat.json:
        term.json(report.to_json())
        return
    for verb, items in (
        ("created", report.created),
        ("updated", report.updated),
        ("skipped", report.skipped),
    ):
        for item in items:
            term.print(f"{verb}: {item}")


def _ago(at: float | None) -> str:
    import time

    from keel.durations import format_duration

    return "-" if at is None else f"{format_duration(max(0.0, time.time() - at))} ago"


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
