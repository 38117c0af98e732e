"""Options shared by the commands that read keel.yaml: the same letters mean the same thing everywhere."""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.terminal import OutputFormat

ENV_OPTION = typer.Option("local", "--env", "-e", envvar="KEEL_ENV", help="Environment in keel.yaml.")
FILE_OPTION = typer.Option(Path("keel.yaml"), "--file", "-f", envvar="KEEL_FILE", help="The spec file.")
FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", envvar="KEEL_FORMAT", help="Output format.")
