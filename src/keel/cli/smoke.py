"""``keel smoke URL``: run a smoke suite (or compare latency against a baseline) and report it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from keel.cli.terminal import terminal
from keel.errors import ConfigError

HELP = """Run the smoke suite against URL: exit 0 when every check passed, 1 when one failed, 2 on a usage or
configuration error. With --compare BASE_URL, compare the suite's latency checks against a baseline instead."""


def smoke(
    url: str = typer.Argument(..., envvar="KEEL_SMOKE_URL", help="Base URL of the revision under test."),
    suite_file: Path = typer.Option(
        Path("smoke.yaml"), "--suite", "-f", envvar="KEEL_SMOKE_SUITE", help="The suite file."
    ),
    output_format: str = typer.Option(
        "table",
        "--format",
        envvar="KEEL_SMOKE_FORMAT",
        help="Report format: table, json, junit, markdown.",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        envvar="KEEL_SMOKE_OUTPUT",
        help="Write the report to this file; the terminal then shows the table.",
    ),
    deadline: float | None = typer.Option(
        None,
        "--deadline",
        envvar="KEEL_SMOKE_DEADLINE",
        help="Total seconds for the run (default: the suite's).",
    ),
    groups: list[str] = typer.Option(
        [], "--group", "-g", envvar="KEEL_SMOKE_GROUPS", help="Run only these groups (repeatable)."
    ),
    no_latency: bool = typer.Option(
        False, "--no-latency", envvar="KEEL_SMOKE_NO_LATENCY", help="Skip the latency checks."
    ),
    compare: str | None = typer.Option(
        None,
        "--compare",
        metavar="BASE_URL",
        envvar="KEEL_SMOKE_COMPARE",
        help="Compare latency checks against this baseline, interleaved.",
    ),
    margin: str | None = typer.Option(
        None,
        "--margin",
        envvar="KEEL_SMOKE_MARGIN",
        help="Allowed relative slowdown, e.g. 10% (default: suite's).",
    ),
    confidence: float | None = typer.Option(
        None,
        "--confidence",
        envvar="KEEL_SMOKE_CONFIDENCE",
        help="Confidence of a regression verdict, e.g. 0.95.",
    ),
    samples: int | None = typer.Option(
        None, "--samples", envvar="KEEL_SMOKE_SAMPLES", help="Pairs of samples per compared check."
    ),
) -> None:
    from keel.smoke import SmokeFailed, compare_suite, load_suite, run_suite
    from keel.smoke.formats.base import get_format, summary_line
    from keel.smoke.formats.table import TableFormat
    from keel.smoke.runner import public_url

    term = terminal()
    if compare is None and (margin is not None or confidence is not None or samples is not None):
        raise ConfigError("--margin, --confidence and --samples only apply with --compare")
    if compare is not None and (no_latency or groups):
        raise ConfigError("--compare runs the latency checks only: drop --no-latency / --group")
    renderer = get_format(output_format)  # an unknown name is a usage error, before anything runs
    suite = load_suite(suite_file)
    if compare is not None:
        term.info(f"comparing latency of {public_url(url)} against {public_url(compare)} ({suite_file})")
        report = asyncio.run(
            compare_suite(
                suite,
                url,
                compare,
                margin=_fraction(margin),
                confidence=confidence,
                samples=samples,
                deadline_s=deadline,
            )
        )
    else:
        term.debug(f"running {suite_file} against {public_url(url)}")
        report = asyncio.run(
            run_suite(suite, url, deadline_s=deadline, include_latency=not no_latency, groups=groups or None)
        )

    if output is not None:
        try:
            output.write_text(renderer.render(report), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write report to {output}: {exc.strerror or exc}") from None
        term.print(TableFormat().renderable(report))
        term.info(f"report written to {output} ({renderer.name})")
    elif renderer.name == "table":
        term.print(TableFormat().renderable(report))
    else:
        term.out.print(renderer.render(report), markup=False, highlight=False, emoji=False, end="")
    if not report.passed:
        raise SmokeFailed(summary_line(report))


def _fraction(text: str | None) -> float | None:
    if text is None:
        return None
    from keel.shares import parse_share

    try:
        return parse_share(text)
    except ValueError as exc:
        raise ConfigError(f"--margin: {exc}") from None


def register(app: typer.Typer) -> None:
    app.command("smoke", help=HELP)(smoke)
