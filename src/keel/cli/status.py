"""``keel status --env E``: the local platform's revisions, their health and the traffic split."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keel.cli.terminal import OutputFormat, terminal
from keel.cli.up import ENV_OPTION, FILE_OPTION, FORMAT_OPTION, local_platform

if TYPE_CHECKING:
    from keel.platforms.local.status import EnvironmentStatus

HELP = """Show environment E: whether its platform runs, each revision's state, readiness (the health gate's
path, falling back to a TCP connect where the revision has none), weight, requests and errors. --format json
is stable for scripts. Exit codes: 0 running, 3 not running, 1 failed, 2 bad keel.yaml or options."""


def _table(status: EnvironmentStatus) -> None:
    from rich.table import Table

    term = terminal()
    term.print(f"{status.service} ({status.env_name}): router {status.url}, daemon pid {status.daemon_pid}")
    if not status.revisions:
        term.print(f"no revisions yet: release one with keel deploy --env {status.env_name}")
        return
    table = Table("revision", "state", "health", "weight", "requests", "errors", "url", "pid", "restarts")
    for report in status.revisions:
        data = report.to_json()
        table.add_row(
            data["name"],
            data["state"],
            f"{data['health']} ({data['health_detail']})",
            f"{data['weight']} %",
            str(data["requests"]),
            str(data["errors"]),
            data["url"],
            str(data["pid"] or "-"),
            str(data["restarts"]),
        )
    term.print(table)
    split = ", ".join(f"{n} {w} %" for n, w in status.weights.items()) or "none (no revision serves traffic)"
    term.print(f"traffic: {split}")


def _markdown(status: EnvironmentStatus) -> None:
    lines = [
        f"### {status.service} ({status.env_name})",
        "",
        "| revision | state | health | weight | requests | errors |",
        "|---|---|---|---:|---:|---:|",
    ]
    for report in status.revisions:
        data = report.to_json()
        lines.append(
            f"| {data['name']} | {data['state']} | {data['health']} | {data['weight']} % "
            f"| {data['requests']} | {data['errors']} |"
        )
    terminal().print("\n".join(lines))


def status(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
    timeout: float = typer.Option(
        3.0, "--timeout", envvar="KEEL_STATUS_TIMEOUT", help="Seconds for each readiness probe."
    ),
) -> None:
    from keel.platforms.local.errors import DaemonNotRunning
    from keel.platforms.local.status import collect_status

    term = terminal()
    spec, platform = local_platform(spec_file, env, auto_start=False)
    result = asyncio.run(collect_status(platform, spec.gates.health.path, timeout))
    if output_format is OutputFormat.json:
        term.json(result.to_json())
    elif output_format is OutputFormat.markdown and result.running:
        _markdown(result)
    elif result.running:
        _table(result)
    if not result.running:
        raise DaemonNotRunning(f"{platform.name} is not running (start it with: keel up --env {env})")


def register(app: typer.Typer) -> None:
    app.command("status", help=HELP)(status)
