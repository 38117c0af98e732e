"""``keel dashboard``: the group of dashboard commands (here only ``export``)."""

from __future__ import annotations

import typer

from keel.cli import dashboard_export

dashboard_app = typer.Typer(
    name="dashboard", help="The service's dashboard and its exports.", no_args_is_help=True
)
dashboard_export.register(dashboard_app)


def register(app: typer.Typer) -> None:
    app.add_typer(dashboard_app, name="dashboard")
