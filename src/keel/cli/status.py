"""``keel status --env E``: the local platform's revisions, their health and the traffic split."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

if TYPE_CHECKING:
    from keel.platforms.local import LocalPlatform
    from keel.platforms.local.status import EnvironmentStatus

HELP = """Show environment E: whether its platform runs, each revision's state, readiness (the health gate's
path, falling back to a TCP connect where the revision has none), weight, requests and errors. --format json
is stable for scripts. Exit codes: 0 running, 3 not running, 1 failed, 2 bad keel.yaml or options."""


RECENT_MINUTES = 5.0
RECENT_SLICES = 30


async def recent_traffic(
    platform: LocalPlatform, revisions: list[str], now: float, minutes: float = RECENT_MINUTES
) -> list[dict[str, Any]]:
    """Each revision's request rate, error rate and p95 (ms) per slice of the last ``minutes``, read from the
    router (None where a slice had no requests)."""
    span = minutes * 60.0 / RECENT_SLICES
    starts = [now - minutes * 60.0 + i * span for i in range(RECENT_SLICES)]
    rows = []
    for revision in revisions:
        windows = await asyncio.gather(*(platform.window(revision, s, s + span) for s in starts))
        p95 = [w.latency.quantile(0.95) for w in windows]
        rows.append(
            {
                "revision": revision,
                "rps": [w.requests / span for w in windows],
                "error_rate": [w.error_rate for w in windows],
                "p95_ms": [None if q is None else q * 1000.0 for q in p95],
            }
        )
    return rows


def _table(status: EnvironmentStatus, recent: list[dict[str, Any]] | None = None) -> None:
    from rich.table import Table

    from keel.cli.charts import revision_sparks, split_bars

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
    width = min(term.out.width, 100)
    term.print(split_bars(status.weights, width=width))
    if recent is not None:
        term.print(revision_sparks(recent, RECENT_MINUTES, width=width))


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


def _recent(platform: LocalPlatform, status: EnvironmentStatus) -> list[dict[str, Any]] | None:
    """Recent traffic of the serving revisions, or None (with a warning) when the router cannot say."""
    from keel.errors import KeelError

    serving = [name for name, weight in status.weights.items() if weight > 0]
    try:
        return asyncio.run(recent_traffic(platform, serving, time.time()))
    except KeelError as exc:
        terminal().warn(f"recent traffic unavailable: {exc}")
        return None


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
    from keel.rollout.wiring import local_platform
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    platform = local_platform(spec, env, auto_start=False)
    result = asyncio.run(collect_status(platform, spec.gates.health.path, timeout))
    if output_format is OutputFormat.json:
        term.json(result.to_json())
    elif output_format is OutputFormat.markdown and result.running:
        _markdown(result)
    elif result.running:
        _table(result, _recent(platform, result))
    if not result.running:
        raise DaemonNotRunning(f"{platform.name} is not running (start it with: keel up --env {env})")


def register(app: typer.Typer) -> None:
    app.command("status", help=HELP)(status)
