"""``keel emulate cloudrun`` and ``secretmanager``: local Cloud Run (Admin API v2 + Cloud Monitoring) and Secret
Manager (REST API v1) emulators, in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import signal
import sys
from pathlib import Path

import typer

from keel.cli.terminal import terminal
from keel.errors import ConfigError

HELP = """Run a local Cloud Run: the Admin API v2 (services, revisions, operations) with each revision's image
run as a local command behind keel's router, and the Cloud Monitoring time series of those revisions. Point
keel at it with CLOUD_RUN_EMULATOR_HOST=127.0.0.1:PORT or api_endpoint in keel.yaml. Secret references
(secretKeyRef) are read from the config's secrets, else from the Secret Manager at --secret-manager (or
SECRET_MANAGER_EMULATOR_HOST): a missing or disabled version keeps the revision unready. Stops on Ctrl-C or
SIGTERM, with every revision it started. Exit codes: 0 stopped, 2 bad configuration."""

emulate_app = typer.Typer(help="Local stand-ins for cloud APIs keel drives.", no_args_is_help=True)


def _images(values: list[str]) -> dict[str, tuple[str, ...]]:
    images: dict[str, tuple[str, ...]] = {}
    for value in values:
        image, sep, command = value.partition("=")
        if not sep or not image or not command.strip():
            raise ConfigError(f"--image {value!r}: expected IMAGE=COMMAND, such as 'bayit:dev=bayit serve'")
        images[image] = tuple(shlex.split(command))
    return images


@emulate_app.command("cloudrun", help=HELP)
def cloudrun(
    config_file: Path | None = typer.Option(
        None, "--config", "-c", envvar="KEEL_EMULATOR_CONFIG",
        help="YAML: images (image -> command), secrets, ingestion_delay, host, port.",
    ),
    image: list[str] = typer.Option(
        [], "--image", help="IMAGE=COMMAND, added to the config's images (a command has spaces: no env var)."
    ),
    port: int | None = typer.Option(None, "--port", "-p", envvar="KEEL_EMULATOR_PORT", help="0: a free port."),
    ingestion_delay: float | None = typer.Option(
        None, "--ingestion-delay", envvar="KEEL_EMULATOR_INGESTION_DELAY",
        help="Seconds before a revision's metric points become visible.",
    ),
    secret_manager: str | None = typer.Option(
        None, "--secret-manager", envvar="SECRET_MANAGER_EMULATOR_HOST",
        help="HOST:PORT of a local Secret Manager (keel emulate secretmanager) that resolves secretKeyRef.",
    ),
) -> None:  # fmt: skip
    from keel.emulators.cloudrun.config import EmulatorConfig, load_config

    config = load_config(config_file) if config_file is not None else EmulatorConfig()
    updates: dict[str, object] = {"images": {**config.images, **_images(image)}}
    if port is not None:
        updates["port"] = port
    if ingestion_delay is not None:
        updates["ingestion_delay"] = ingestion_delay
    if secret_manager:
        updates["secret_manager"] = secret_manager
    config = EmulatorConfig.model_validate({**config.model_dump(), **updates})
    asyncio.run(_serve(config))


async def _serve(config: object) -> None:
    from keel.emulators.cloudrun.config import EmulatorConfig
    from keel.emulators.cloudrun.server import Emulator

    assert isinstance(config, EmulatorConfig)
    term = terminal()
    emulator = Emulator(config)
    await emulator.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    term.print(f"CLOUD_RUN_EMULATOR_HOST={config.host}:{emulator.port}")
    sys.stdout.flush()  # a script reading the first line must get it now, not at exit
    term.info(
        f"Cloud Run emulator on {emulator.url} (images: {', '.join(sorted(config.images)) or 'none'}; "
        f"metrics visible after {config.ingestion_delay:g}s)"
    )
    with contextlib.suppress(asyncio.CancelledError):
        await stop.wait()
    await emulator.close()


SECRET_MANAGER_HELP = """Run a local Secret Manager: the REST API v1 (secrets, versions, version aliases, access,
enable/disable/destroy) that the official client speaks, in memory (nothing is kept when it stops). Point
keel secrets at it with SECRET_MANAGER_EMULATOR_HOST=127.0.0.1:PORT or secrets.backend.endpoint in keel.yaml.
Stops on Ctrl-C or SIGTERM. Exit codes: 0 stopped, 2 bad options."""


@emulate_app.command("secretmanager", help=SECRET_MANAGER_HELP)
def secretmanager(
    port: int = typer.Option(0, "--port", "-p", envvar="KEEL_EMULATOR_PORT", min=0, max=65535,
                             help="0: a free port."),
    host: str = typer.Option("127.0.0.1", "--host", envvar="KEEL_EMULATOR_HOST", help="Loopback address."),
) -> None:  # fmt: skip
    from keel.platforms.cloudrun.config import is_loopback

    if not is_loopback(host):
        raise ConfigError(f"--host {host}: the emulator has no authentication; only loopback addresses")
    asyncio.run(_serve_secret_manager(host, port))


async def _serve_secret_manager(host: str, port: int) -> None:
    from keel.emulators.secretmanager.server import serve

    term = terminal()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def ready(bound: int) -> None:
        address = f"[{host}]" if ":" in host else host
        term.print(f"SECRET_MANAGER_EMULATOR_HOST={address}:{bound}")
        sys.stdout.flush()

    await serve(host, port, stop, ready)


def register(app: typer.Typer) -> None:
    app.add_typer(emulate_app, name="emulate")
