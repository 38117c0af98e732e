"""The keel command: global options and the registry of sub-commands."""

from __future__ import annotations

import importlib
import sys

import typer

from keel import __version__
from keel.cli.terminal import configure, terminal
from keel.errors import KeelError

app = typer.Typer(
    name="keel",
    help="Ship a new revision without fear: gated canary releases, health checks, smoke suites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One module per leaf command, each exposing ``register(app)``; heavy imports stay inside the commands.
COMMANDS: tuple[str, ...] = (
    "smoke",
    "up",
    "down",
    "status",
    "deploy",
    "rollback",
    "abort",
    "demo",
    "emulate",
    "alerts",
    "watch",
    "review",
    "dora",
    "dashboard",
    "secrets",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"keel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, envvar="KEEL_VERBOSE", help="More detail on stderr."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", envvar="KEEL_QUIET", help="Only errors and results."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show version."),
) -> None:
    configure(verbose, quiet)


for _name in COMMANDS:
    importlib.import_module(f"keel.cli.{_name}").register(app)


def main() -> None:
    """Entry point. Typer/Click handle usage errors (exit 2) and ``typer.Exit``; a KeelError becomes one clear
    line on stderr and its own exit code (2 for bad input, see each command's documented codes)."""
    try:
        app()
    except KeelError as exc:
        terminal().error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        terminal().error("interrupted")
        sys.exit(130)
