"""``keel up --env E``: start the local platform's daemon (router + supervised revisions) in the background."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

if TYPE_CHECKING:
    from keel.platforms.local import LocalPlatform

HELP = """Start the local platform of environment E in the background: the traffic router on the environment's
port and a supervisor for its revisions. It outlives this command (stop it with keel down); revisions left
by a daemon that died are recovered. Exit codes: 0 up, 1 failed to start, 2 bad keel.yaml or options."""


async def _start(platform: LocalPlatform) -> dict[str, Any]:
    already = platform.daemon() is not None
    info = await platform.start()
    revisions = await platform.revisions()
    traffic = await platform.traffic()
    return {
        "service": platform.service,
        "environment": platform.env_name,
        "url": platform.url,
        "daemon_pid": info.pid,
        "already_running": already,
        "state_dir": str(platform.state.path),
        "revisions": [r.name for r in revisions],
        "traffic": dict(traffic.weights),
    }


def up(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.rollout.wiring import local_platform
    from keel.spec import load_spec

    term = terminal()
    platform = local_platform(load_spec(spec_file), env, auto_start=True)
    result = asyncio.run(_start(platform))
    if output_format is OutputFormat.json:
        term.json(result)
        return
    verb = "was already up" if result["already_running"] else "is up"
    lines = [
        f"{platform.name} {verb}: router {result['url']} (daemon pid {result['daemon_pid']}, "
        f"state {result['state_dir']})"
    ]
    if result["revisions"]:
        lines.append(f"revisions: {', '.join(result['revisions'])}")
    if result["traffic"]:
        lines.append("traffic: " + ", ".join(f"{n} {w} %" for n, w in result["traffic"].items()))
    else:
        lines.append(f"no revision serves traffic yet: release one with keel deploy --env {env}")
    if output_format is OutputFormat.markdown:
        term.print("\n".join(f"- {line}" for line in lines))
    else:
        for line in lines:
            term.print(line)


def register(app: typer.Typer) -> None:
    app.command("up", help=HELP)(up)
