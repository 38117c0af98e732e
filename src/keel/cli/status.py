"""``keel status --env E``: the local platform's revisions, their health and the traffic split; on any other
platform (Cloud Run), the split and revisions the platform reports and the rollouts the store keeps."""

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
    from keel.rollout.report import EnvironmentStatus as ReleaseStatus
    from keel.spec import KeelSpec

HELP = """Show environment E. On the local platform: whether it runs, each revision's state, readiness (the
health gate's path, falling back to a TCP connect where the revision has none), weight, requests and errors.
On other platforms (Cloud Run): the traffic split and revisions the platform reports, any unfinished rollout,
the rollback targets and the latest rollouts from keel's store; nothing is changed and no lock is taken.
--format json is stable for scripts. Exit codes: 0 running, 3 local platform not running, 1 failed (the
platform could not be read), 2 bad keel.yaml or options."""


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


def _release_table(status: ReleaseStatus, platform: str) -> None:
    from rich.table import Table

    from keel.cli.charts import split_bars
    from keel.platforms.base import split_text

    term = terminal()
    term.print(f"{status.service} ({status.environment}) on {platform}: serving {split_text(status.traffic)}")
    if status.unfinished is not None:
        rollout = status.unfinished
        term.print(
            f"unfinished rollout {rollout.id} ({rollout.phase.value}, {rollout.revision} at {rollout.weight} %): "
            f"keel deploy --resume continues it, keel rollback or keel abort undoes it"
        )
    if not status.revisions:
        term.print(f"no revisions yet: release one with keel deploy --env {status.environment}")
        return
    table = Table("revision", "weight", "rollback target")
    targets = {c.revision: c for c in status.candidates}
    for name in status.revisions:
        target = targets.get(name)
        table.add_row(
            name, f"{status.traffic.get(name, 0)} %", f"-n {target.n} ({target.status})" if target else ""
        )
    term.print(table)
    term.print(split_bars(status.traffic, width=min(term.out.width, 100)))
    if status.recent:
        recent = Table("rollout", "kind", "revision", "phase", "started", title="latest rollouts")
        recent.title_justify = "left"
        for r in status.recent:
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created))
            recent.add_row(r.id, r.kind.value, r.revision, r.phase.value, started)
        term.print(recent)


def _platform_status(spec: KeelSpec, env: str, output_format: OutputFormat) -> None:
    """``keel status`` of an environment on a platform keel does not run itself."""
    from keel.cli.reports import emit
    from keel.rollout.release import Release

    result = asyncio.run(Release(spec, env).status())
    if not emit(terminal(), result, output_format):
        _release_table(result, spec.environment(env).platform)


def status(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
    timeout: float = typer.Option(
        3.0, "--timeout", envvar="KEEL_STATUS_TIMEOUT", help="Seconds for each readiness probe."
    ),
) -> None:
    from keel.platforms.local.config import LocalConfig
    from keel.platforms.local.errors import DaemonNotRunning
    from keel.platforms.local.status import collect_status

    term = terminal()
    from keel.rollout.wiring import local_platform
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    if not isinstance(spec.environment(env), LocalConfig):
        _platform_status(spec, env, output_format)
        return
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
