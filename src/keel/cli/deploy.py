"""``keel deploy --env E``: a gated release (health gate, smoke gate, canary steps with analysis) that rolls
back by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from keel.cli.options import ENV_OPTION, FILE_OPTION, FORMAT_OPTION
from keel.cli.terminal import OutputFormat, terminal
from keel.errors import ConfigError

EXIT_CODES_HELP = (
    "Exit codes: 0 promoted; 1 stopped at a gate (no traffic moved) or rolled back (traffic restored and "
    "verified); 2 bad keel.yaml or options; 3 the environment is locked by another keel, or an interrupted "
    "rollout must be resumed or rolled back first; 4 paused (analysis inconclusive, on_inconclusive: pause); "
    "5 rollback failed verification (a human is needed); 130 interrupted twice."
)

HELP = f"""Release a new revision of the service to environment E: deploy it with no traffic, wait until it is
ready (health gate), run the smoke gate against its own URL, then shift traffic step by step while analysing
it, and promote it or roll back to the revision that served before. Ctrl-C or SIGTERM aborts: traffic goes
back to the previous revision. After a kill -9, `--resume` continues and `keel rollback` undoes.
A Markdown summary goes to $GITHUB_STEP_SUMMARY when it is set. {EXIT_CODES_HELP}"""


def parse_assignments(values: list[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum():
            raise ConfigError(f"{option} {item.split('=')[0]!r}: expected KEY=VALUE")
        out[key] = value
    return out


def deploy(
    env: str = ENV_OPTION,
    spec_file: Path = FILE_OPTION,
    set_env: list[str] = typer.Option(
        [], "--set", "-s", envvar="KEEL_SET", help="KEY=VALUE added to the new revision's environment."
    ),
    image: str = typer.Option(
        "", "--image", envvar="KEEL_IMAGE", help="Container image (container platforms)."
    ),
    resume: bool = typer.Option(
        False, "--resume", envvar="KEEL_RESUME", help="Continue an interrupted rollout."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        envvar="KEEL_DRY_RUN",
        help="Print the plan (platform calls, gates, steps); change nothing.",
    ),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    from keel.cli.progress import RolloutView
    from keel.cli.reports import show_rollout
    from keel.rollout.release import Release
    from keel.spec import load_spec

    term = terminal()
    spec = load_spec(spec_file)  # everything is validated before anything starts
    values = parse_assignments(set_env, "--set")
    if resume and (values or image):
        raise ConfigError("--resume continues the recorded rollout: --set and --image cannot change it")
    if dry_run:
        from keel.cli.reports import show_plan

        show_plan(
            term,
            asyncio.run(Release(spec, env).plan_deploy(revision_env=values, image=image or None)),
            output_format,
        )
        return
    view = RolloutView(term, live=output_format is OutputFormat.table)
    release = Release(spec, env, observer=view, handle_signals=True)
    term.info(f"{'resuming the rollout' if resume else 'releasing'} in {env}")
    with view:
        report = asyncio.run(release.deploy(revision_env=values, image=image or None, resume=resume))
    show_rollout(term, report, output_format)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command("deploy", help=HELP)(deploy)
