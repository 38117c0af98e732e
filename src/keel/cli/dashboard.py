"""``keel dashboard``: serve the web dashboard of one service and environment (subcommands add exports)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import typer

from keel.cli.options import ENV_OPTION
from keel.cli.terminal import terminal

HELP = """Serve the dashboard of environment E on http://HOST:PORT/: health now (readiness, dependencies),
performance against the review's targets, SLOs, the release timeline with outcomes and deciding verdicts, the
traffic split of the latest canary and DORA metrics, refreshing itself; the same figures as JSON under /api/v1.
Needs the local extra (Starlette, uvicorn). Exit codes: 0 stopped, 1 failed, 2 bad keel.yaml or options."""

DEFAULT_PORT = 8686

group = typer.Typer(help=HELP, invoke_without_command=True, no_args_is_help=False)


def dashboard_hint(spec_file: Path, env: str) -> str:
    """How to open the dashboard of an environment (what ``keel demo --keep`` ends with)."""
    return f"dashboard: keel dashboard --file {spec_file} --env {env}  ->  http://127.0.0.1:{DEFAULT_PORT}/"


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (port 0: a free one), so the URL printed is the one served."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from keel.errors import ConfigError

        raise ConfigError(f"--host {host} --port {port}: cannot listen: {exc.strerror}") from None
    sock.listen(128)
    return sock


async def _serve(app: object, sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")  # type: ignore[arg-type]
    await uvicorn.Server(config).serve(sockets=[sock])


@group.callback()
def dashboard(
    ctx: typer.Context,
    env: str = ENV_OPTION,
    spec_file: Path = typer.Option(
        Path("keel.yaml"), "--file", "-f", "--spec", envvar="KEEL_FILE", help="The spec file."
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", envvar="KEEL_DASHBOARD_HOST", help="Address to listen on."
    ),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", min=0, max=65535, envvar="KEEL_DASHBOARD_PORT", help="Port (0: a free one)."
    ),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from keel.dashboard.app import create_app
    from keel.dashboard.wiring import dashboard_of
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    board = dashboard_of(spec, env)
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    terminal().print(f"keel dashboard of {spec.service} ({env}): http://{shown}:{sock.getsockname()[1]}/")
    try:
        asyncio.run(_serve(create_app(board), sock))
    finally:
        sock.close()
        board.store.close()


def register(app: typer.Typer) -> None:
    # export and apply: the same panels for Grafana and Cloud Monitoring
    from keel.cli import dashboard_export

    dashboard_export.register(group)
    app.add_typer(group, name="dashboard")
