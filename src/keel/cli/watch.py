"""``keel watch --env E``: the embedded watcher, evaluating keel.yaml's alert rules against the service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal

if TYPE_CHECKING:
    from keel.slo.samples import Target

HELP = """Watch environment E without Prometheus: scrape the service's /metrics and readiness every
alerts.interval, evaluate the same rules keel alerts render writes for Prometheus, and notify through the
routed channels (one notification per alert, repeats, resolves). State lives in the store, so a restart
neither loses a firing alert nor pages twice. Exit codes: 0 stopped, 1 failed, 2 bad keel.yaml or options."""


def _local_target(spec_file: Path, env: str) -> tuple[str, Target]:
    """A local environment is watched through its router: every revision's counters, readiness as users see."""
    from keel.errors import ConfigError
    from keel.platforms.local.config import LocalConfig
    from keel.rollout.wiring import local_platform
    from keel.slo.router import RouterTarget
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    environment = spec.environment(env)
    if not isinstance(environment, LocalConfig):
        raise ConfigError(
            f"environment {env!r} runs on {environment.platform}: give the service URL with --url"
        )
    platform = local_platform(spec, env, auto_start=False)
    return platform.url, RouterTarget(platform, platform.url + spec.gates.health.path)


def watch(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    url: str | None = typer.Option(
        None,
        "--url",
        envvar="KEEL_WATCH_URL",
        help="Base URL of the service (default: a local environment's router).",
    ),
    once: bool = typer.Option(False, "--once", envvar="KEEL_WATCH_ONCE", help="Evaluate once and exit."),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.rollout.wiring import open_store
    from keel.slo.watcher import Watcher
    from keel.spec import load_spec

    spec = load_spec(spec_file)
    spec.environment(env)
    target: Target | None = None
    if url is None:
        url, target = _local_target(spec_file, env)
    term = terminal()
    with open_store(spec) as store:
        watcher, warnings = Watcher.from_spec(spec, env, url, store=store, target=target)
        for warning in warnings:
            term.warn(warning)
        term.info(f"watching {spec.service} ({env}) at {url}: {len(watcher.rules)} rules every "
                  f"{watcher.interval:g}s")  # fmt: skip
        try:
            asyncio.run(_loop(watcher, once, output_format))
        except KeyboardInterrupt:
            term.info("stopped")


async def _loop(watcher: object, once: bool, output_format: OutputFormat) -> None:
    from keel.slo.watcher import Watcher

    assert isinstance(watcher, Watcher)
    term = terminal()
    try:
        while True:
            for change in await watcher.evaluate_once():
                if output_format is OutputFormat.json:
                    term.json({"alert": change.name, "event": change.event, "at": change.at,
                               "value": change.value, "delivered": change.delivered})  # fmt: skip
                else:
                    value = "" if change.value is None else f" value {change.value:.4g}"
                    sent = "" if change.delivered else " (notification failed; retrying)"
                    term.print(f"{change.event.upper()} {change.name}{value}{sent}")
            if once:
                if output_format is OutputFormat.json:
                    term.json({"firing": [r.name for r in watcher.firing()]})
                return
            await asyncio.sleep(watcher.interval)
    finally:
        await watcher.aclose()


def register(app: typer.Typer) -> None:
    app.command("watch", help=HELP)(watch)
