"""``keel secrets``: list, status, due, set and rotate the secrets declared in keel.yaml (never their values)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keel.cli.options import FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal
from keel.errors import ConfigError

if TYPE_CHECKING:
    from keel.secrets.report import RotationReport, SecretsReport
    from keel.secrets.state import Rotation
    from keel.spec import KeelSpec

secrets_app = typer.Typer(
    help="Secrets declared in keel.yaml (secrets:): versions, ages and safe, resumable rotations. Values are "
    "read from stdin or a file, never from the command line, and never printed.",
    no_args_is_help=True,
)

ROTATE_HELP = """Rotate one secret as a persisted, resumable procedure: store the new version (pending), release
a revision that uses it through the gated deploy, verify the service's deep health, label it current, then
revoke the old credential (database), remind where to revoke the old key (API keys), or keep the old JWT key
verifying tokens for the grace window (retire it with --resume afterwards). Any failure before the new version
is current rolls back: traffic returns to the old revision, the new version is destroyed. API keys and the
Sentry DSN: the new value on stdin or --from-file. Exit codes: 0 rotated (or in its grace window); 1 rolled
back or stopped (the message says how to continue); 2 bad input, nothing changed; 3 another rotation or
release holds the environment."""

FROM_FILE = typer.Option(
    None, "--from-file", envvar="KEEL_SECRET_FILE", help="Read the value from this file instead of stdin."
)


def _spec(spec_file: Path) -> KeelSpec:
    from keel.spec import load_spec

    return load_spec(spec_file)


def _read_value(from_file: Path | None, name: str) -> str:
    if from_file is not None:
        try:
            text = from_file.read_text()
        except OSError as exc:
            raise ConfigError(f"--from-file {from_file}: {exc.strerror}") from None
    else:
        if sys.stdin.isatty():
            raise ConfigError(
                f"secret {name}: give the value on stdin (keel secrets ... < file) or --from-file"
            )
        text = sys.stdin.read()
    value = text.strip("\r\n")
    if not value.strip():
        raise ConfigError(f"secret {name}: the value is empty")
    return value


def _inventory(spec: KeelSpec) -> SecretsReport:
    from keel.secrets.inventory import inventory
    from keel.secrets.report import SecretsReport
    from keel.secrets.wiring import secrets_parts

    with secrets_parts(spec) as parts:
        rows = inventory(spec.secrets, parts.backend, parts.records, time.time())
    return SecretsReport(spec.service, tuple(rows))


def _show(report: SecretsReport, output_format: OutputFormat, only_due: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    from keel.cli.reports import emit
    from keel.secrets.report import days, when

    term = terminal()
    if emit(term, report, output_format):
        return
    rows = report.due if only_due else report.rows
    table = Table("secret", "type", "variable", "version", "versions", "age", "last rotated", "every", "due in",
                  "state")  # fmt: skip
    for r in rows:
        style = "red" if r.due else "green" if r.state == "ok" else "yellow"
        table.add_row(
            escape(r.name), r.type, r.env, str(r.current or "-"), str(r.versions), days(r.age_days),
            when(r.last_rotated), days(r.every_days), days(r.due_in_days), f"[{style}]{escape(r.state)}[/{style}]",
        )  # fmt: skip
    if only_due and not rows:
        term.print("no secret is due for rotation")
        return
    term.print(table)


def list_secrets(spec_file: Path = FILE_OPTION, output_format: OutputFormat = FORMAT_OPTION) -> None:
    _show(_inventory(_spec(spec_file)), output_format)


def due(spec_file: Path = FILE_OPTION, output_format: OutputFormat = FORMAT_OPTION) -> None:
    report = _inventory(_spec(spec_file))
    _show(report, output_format, only_due=True)
    raise typer.Exit(1 if report.due else 0)


def status(
    name: str | None = typer.Argument(None, help="One secret (default: every secret's latest rotation)."),
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from rich.markup import escape

    from keel.cli.reports import emit
    from keel.secrets.report import RotationReport, when
    from keel.secrets.wiring import secrets_parts

    spec = _spec(spec_file)
    names = [name] if name else sorted(spec.secrets.items)
    if name and name not in spec.secrets.items:
        raise ConfigError(
            f"no secret {name!r} in {spec.source} (known: {', '.join(sorted(spec.secrets.items))})"
        )
    term = terminal()
    reports: list[RotationReport] = []
    with secrets_parts(spec) as parts:
        for secret in names:
            latest = parts.records.history(secret, limit=1)
            if latest:
                reports.append(RotationReport(latest[0], tuple(parts.records.steps(latest[0].id))))
    if output_format is OutputFormat.json:
        import json

        sys.stdout.write(json.dumps({"schema": "keel.secrets/v1", "rotations": [r.to_json() for r in reports]},
                                    indent=2, sort_keys=True) + "\n")  # fmt: skip
        return
    if output_format is OutputFormat.markdown:
        for report in reports:
            emit(term, report, output_format)
        return
    if not reports:
        term.print("no rotation recorded yet")
    for report in reports:
        r = report.rotation
        term.print(
            f"[bold]{escape(r.secret)}[/bold] rotation {r.id} ({when(r.created)}): {escape(report.headline())}"
        )
        if r.reason:
            term.print(f"  last failure: {escape(r.reason)}")
        for note in r.notes:
            term.print(f"  - {escape(note)}")


def set_secret(
    name: str = typer.Argument(..., help="The secret (a key of secrets.items)."),
    from_file: Path | None = FROM_FILE,
    spec_file: Path = FILE_OPTION,
) -> None:
    """Store the value in service now as the current version (how a secret enters keel, before its first
    rotation). Nothing is released: the next deploy delivers it."""
    from keel.secrets.inventory import store_value
    from keel.secrets.wiring import secrets_parts

    spec = _spec(spec_file)
    item = spec.secrets.items.get(name)
    if item is None:
        raise ConfigError(
            f"no secret {name!r} in {spec.source} (known: {', '.join(sorted(spec.secrets.items))})"
        )
    value = _read_value(from_file, name)
    with secrets_parts(spec) as parts:
        if parts.records.active(name) is not None:
            raise ConfigError(
                f"secret {name} is being rotated: finish with keel secrets rotate {name} --resume"
            )
        version = store_value(parts.backend, item.secret_id(name), value)
    terminal().print(f"{name}: version {version} stored as current (released with the next deploy)")


def rotate(
    name: str = typer.Argument(..., help="The secret (a key of secrets.items)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the secret's interrupted rotation."),
    abort: bool = typer.Option(False, "--abort", help="Roll the secret's unfinished rotation back."),
    from_file: Path | None = FROM_FILE,
    env: str | None = typer.Option(
        None, "--env", "-e", envvar="KEEL_ENV", help="Environment (default: secrets.environment)."
    ),
    no_grace: bool = typer.Option(
        False, "--no-grace", help="JWT: retire the old key at once (a leaked key): every session ends."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be done; change nothing."),
    spec_file: Path = FILE_OPTION,
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.secrets.wiring import rotation_environment, rotator, secrets_parts

    spec = _spec(spec_file)
    if resume and abort:
        raise ConfigError("--resume and --abort: choose one")
    if no_grace and (resume or abort):
        raise ConfigError("--no-grace starts a rotation: it cannot change one under way")
    item = spec.secrets.items.get(name)
    if item is None:
        raise ConfigError(
            f"no secret {name!r} in {spec.source} (known: {', '.join(sorted(spec.secrets.items))})"
        )
    environment = rotation_environment(spec, env)
    term = terminal()
    if dry_run:
        _plan(name, environment, spec)
        return
    value = _read_value(from_file, name) if item.type.provided and not (resume or abort) else None

    def on_step(rotation: Rotation, why: str) -> None:
        term.info(f"{rotation.phase.value}: {why}")

    with secrets_parts(spec) as parts:
        worker = rotator(spec, environment, parts, on_step=on_step)
        if resume or abort:
            current = worker.active(name)
        else:
            current = worker.begin(name, value, grace=0.0 if no_grace else None)
        if abort:
            final = asyncio.run(
                worker.rollback(current, "aborted by the operator (keel secrets rotate --abort)")
            )
        else:
            final = asyncio.run(worker.run(current))
        report = _report(final, parts.records.steps(final.id))
    _finish(report, output_format)


def _report(rotation: Rotation, steps: list[dict[str, object]]) -> RotationReport:
    from keel.secrets.report import RotationReport

    return RotationReport(rotation, tuple(steps))


def _finish(report: RotationReport, output_format: OutputFormat) -> None:
    from rich.markup import escape

    from keel.cli.reports import emit

    term = terminal()
    if not emit(term, report, output_format):
        r = report.rotation
        term.print(escape(report.headline()))
        if r.reason:
            term.print(f"last failure: {escape(r.reason)}")
        for note in r.notes:
            term.print(f"- {escape(note)}")
    raise typer.Exit(report.exit_code)


def _plan(name: str, environment: str, spec: KeelSpec) -> None:
    item = spec.secrets.items[name]
    steps = ["store the new value as a new version labelled pending"]
    if item.type.value == "database":
        steps.append(f"create a login role in {item.role} with a new password ({item.admin_env})")
    previous = f" and {item.previous_env} (the old key)" if item.previous_env else ""
    how = (
        " (Cloud Run: secretKeyRef to the version's number, never the value)"
        if spec.environments[environment].platform == "cloudrun"
        else ""
    )
    steps += [
        f"release a revision of {spec.service} to {environment} with {item.env} (the new version){previous}"
        f"{how}, through the gated deploy",
        f"check {spec.secrets.verify} on that revision",
        "label the new version current, the old one previous",
    ]
    if item.type.value == "jwt":
        steps.append(
            f"keep the old key for {item.grace:g}s, then release without it (--resume) and disable it"
        )
    elif item.type.value == "database":
        steps.append("revoke the old login role (NOLOGIN, sessions ended) and disable the old version")
    else:
        steps.append("disable the old version and say where to revoke the old key at the provider")
    term = terminal()
    term.print(f"keel secrets rotate {name} (dry run: nothing is changed)")
    for i, step in enumerate(steps, 1):
        term.print(f"  {i}. {step}")


def register(app: typer.Typer) -> None:
    secrets_app.command(
        "list", help="Declared secrets: versions, age, last rotated, schedule. Never values."
    )(list_secrets)
    secrets_app.command("status", help="Each secret's latest rotation: phase, steps, what is left to do.")(
        status
    )
    secrets_app.command(
        "due",
        help="Secrets due for rotation (every: in keel.yaml), stuck or past their grace window; exit 1 when any.",
    )(due)
    secrets_app.command("set")(set_secret)
    secrets_app.command("rotate", help=ROTATE_HELP)(rotate)
    app.add_typer(secrets_app, name="secrets")
