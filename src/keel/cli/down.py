"""``keel down --env E``: stop the local platform: its revisions, its router and its daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

HELP = """Stop the local platform of environment E: every revision (SIGTERM, then SIGKILL after a grace period),
the router and the daemon, and forget the revisions (their logs stay in the state directory). Also cleans
up after a daemon that died. Exit codes: 0 stopped or was not running, 1 failed, 2 bad keel.yaml or options."""


def down(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    term = terminal()
    from keel.rollout.wiring import local_platform
    from keel.spec import load_spec

    platform = local_platform(load_spec(spec_file), env, auto_start=False)
    stopped = asyncio.run(platform.stop())
    if output_format is OutputFormat.json:
        term.json({"service": platform.service, "environment": env, "stopped": stopped})
        return
    term.print(f"{platform.name}: {'stopped' if stopped else 'was not running'}")


def register(app: typer.Typer) -> None:
    app.command("down", help=HELP)(down)
