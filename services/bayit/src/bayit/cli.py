"""The bayit command: serve the API, run migrations, load the sample catalog."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import typer

from bayit.settings import Settings, SettingsError, load_settings
from keel.errors import KeelError

cli = typer.Typer(name="bayit", help="The Bayit+ API.", no_args_is_help=True, add_completion=False)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        for line in exc.problems:
            typer.echo(f"bayit: invalid configuration: {line}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: str = typer.Option("0.0.0.0", envvar="HOST", help="Interface to listen on."),
    port: int | None = typer.Option(None, help="Port (default: $PORT, else 8080)."),
    seed: bool = typer.Option(
        False, "--seed", help="Load the sample catalog into an empty database at start-up."
    ),
    graceful_timeout: int = typer.Option(
        25, envvar="GRACEFUL_TIMEOUT", help="Seconds to finish in-flight requests."
    ),
) -> None:
    """Serve the API with uvicorn; SIGTERM stops accepting, finishes in-flight requests, closes the pool."""
    import uvicorn

    from bayit.app import create_app
    from bayit.observability import configure_logging

    settings = _settings()
    configure_logging(settings.LOG_LEVEL)
    common: dict[str, Any] = {
        "host": host,
        "port": port or settings.PORT,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        "server_header": False,
        "timeout_graceful_shutdown": graceful_timeout,
        "lifespan": "on",
        # h11 (the pure-Python parser) buffers at most this much of an incomplete request head; with
        # httptools the edge middleware refuses oversized headers (431) after parsing.
        "h11_max_incomplete_event_size": settings.MAX_REQUEST_HEADER_BYTES,
        "timeout_keep_alive": 5,
    }
    try:
        app = create_app(settings, seed_catalog=seed)
    except KeelError as exc:  # health-check and fault-switch configuration
        for line in str(exc).splitlines():
            typer.echo(f"bayit: invalid configuration: {line}", err=True)
        raise typer.Exit(2) from None
    server = uvicorn.Server(uvicorn.Config(app, **common))
    server.run()
    if not server.started:
        sys.exit(1)


def _prepare(settings: Settings, seed_catalog: bool) -> int:
    from bayit.migrate import upgrade
    from bayit.seed import seed

    async def run() -> int:
        db = settings.database()
        try:
            await upgrade(db.engine)
            return await seed(db) if seed_catalog else 0
        finally:
            await db.dispose()

    return asyncio.run(run())


@cli.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    from bayit.db import safe_url
    from bayit.migrate import upgrade

    settings = _settings()

    async def run() -> None:
        db = settings.database()
        try:
            await upgrade(db.engine)
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo(f"bayit: schema up to date ({safe_url(settings.database_url)})")


@cli.command("seed")
def seed_command() -> None:
    """Migrate, then load the sample catalog if the catalog is empty."""
    added = _prepare(_settings(), True)
    typer.echo(
        f"bayit: {added} catalog items loaded" if added else "bayit: catalog already present, nothing loaded"
    )


def main() -> None:
    cli()
