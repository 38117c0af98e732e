"""The one place keel writes to the terminal: verbosity, colour and output format."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape


class OutputFormat(StrEnum):
    """How a command renders its result."""

    table = "table"
    json = "json"
    markdown = "markdown"


class Terminal:
    """Wraps Rich consoles for stdout and stderr; honours --quiet, -v and NO_COLOR."""

    def __init__(self, verbosity: int = 0, quiet: bool = False) -> None:
        no_color = bool(os.environ.get("NO_COLOR"))
        self.verbosity = verbosity
        self.quiet = quiet
        self.out = Console(no_color=no_color, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, no_color=no_color, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return sys.stdin.isatty() and self.err.is_terminal

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message)

    def debug(self, message: str) -> None:
        if self.verbosity > 0 and not self.quiet:
            self.err.print(f"[dim]{message}[/dim]")

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def error(self, message: str) -> None:
        self.err.print(f"[red]error:[/red] {escape(message)}", markup=True)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        sys.stdout.flush()

    def print(self, renderable: Any) -> None:
        self.out.print(renderable)


_terminal = Terminal()


def terminal() -> Terminal:
    return _terminal


def configure(verbosity: int, quiet: bool) -> Terminal:
    global _terminal
    _terminal = Terminal(verbosity=verbosity, quiet=quiet)
    return _terminal
