"""``keel demo``: the main job on embedded defaults, with nothing installed beyond Python."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from keel.cli.deploy import FORMAT_OPTION
from keel.cli.terminal import OutputFormat, Terminal, terminal

HELP = """Start a local environment with the Bayit+ API (SQLite, seeded catalog), drive steady synthetic traffic
at its router, release a good revision through the whole canary (10% -> 50% -> 100%), then a faulty one (10%
of API requests fail and all are 300 ms slower) which keel catches at 10% and rolls back. Ends with a summary
of both releases and of the traffic. Holds are shortened (--hold); it takes about two minutes.
Exit codes: 0 the good release was promoted and the faulty one rolled back; 1 otherwise; 2 bad options."""

ENV = "demo"


async def _release(spec: Any, values: dict[str, str], fmt: OutputFormat) -> dict[str, Any]:
    from keel.cli.deploy import run_deploy
    from keel.rollout.summary import deciding_lines

    result = await run_deploy(spec, ENV, values, None, False, fmt)
    term = terminal()
    term.info(
        f"=> {result['revision']}: [bold]{result['phase'].replace('_', ' ')}[/bold]: {result['reason']}"
    )
    if result.get("failed_by") == "analysis":  # why: the failing metrics of the deciding look
        for line in deciding_lines(result):
            term.info(f"   {line}")
    return result


async def _stop(spec: Any) -> None:
    from keel.platforms.local import LocalPlatform
    from keel.rollout.wiring import platform_of

    platform = platform_of(spec, ENV)
    if isinstance(platform, LocalPlatform):
        await platform.stop()


async def _demo(
    directory: Path, port: int, hold: float, rate: float, keep: bool, fmt: OutputFormat
) -> dict[str, Any]:
    from keel.demo.loadgen import LoadGenerator
    from keel.demo.project import FAULTY_ENV, write_project
    from keel.spec import load_spec

    term = terminal()
    project = write_project(directory, port or None, hold)
    spec = load_spec(project.spec_file)
    term.info(
        f"[bold]keel demo[/bold]: Bayit+ on the local platform, router {project.router_url}, files in {directory}"
    )
    started = time.monotonic()
    releases: list[dict[str, Any]] = []
    try:
        term.info(
            "\n[bold]1/3 first release[/bold] (no previous revision: it takes all traffic once its gates pass)"
        )
        releases.append(await _release(spec, {"BAYIT_RELEASE": "1"}, fmt))
        async with LoadGenerator(project.router_url, rate=rate) as load:
            term.info(f"\n[bold]steady traffic[/bold]: {rate:g} requests/s to the router")
            await asyncio.sleep(min(3.0, hold / 3))  # a baseline before the canary starts
            term.info("\n[bold]2/3 a good release[/bold] through the whole canary")
            releases.append(await _release(spec, {"BAYIT_RELEASE": "2"}, fmt))
            term.info(
                "\n[bold]3/3 a faulty release[/bold]: " + ", ".join(f"{k}={v}" for k, v in FAULTY_ENV.items())
            )
            releases.append(await _release(spec, {**FAULTY_ENV, "BAYIT_RELEASE": "3"}, fmt))
            await asyncio.sleep(1.0)
        traffic = load.stats.to_json()
    finally:
        if not keep:
            await _stop(spec)
    ok = (
        len(releases) == 3
        and releases[0]["phase"] == "promoted"
        and releases[1]["phase"] == "promoted"
        and releases[2]["phase"] == "rolled_back"
    )
    return {
        "schema": "keel.demo/v1",
        "directory": str(directory),
        "router": project.router_url,
        "seconds": round(time.monotonic() - started, 1),
        "releases": releases,
        "traffic": traffic,
        "kept_running": keep,
        "exit_code": 0 if ok else 1,
    }


_NAMES = ("first", "good", "faulty")


def _why(release: dict[str, Any]) -> str:
    rollback = release.get("rollback") or {}
    why: str = release.get("cause") or release["reason"]
    if rollback.get("seconds_from_failure_to_switch") is not None:
        why += f" (traffic back {rollback['seconds_from_failure_to_switch']:.2f}s after the failing verdict)"
    return why


def _traffic_line(traffic: dict[str, Any]) -> str:
    return (
        f"synthetic traffic: {traffic['requests']} requests, outcomes {traffic['outcomes']}; transport errors "
        f"{traffic['transport_errors']} (server errors come from the faulty canary while it had 10%)"
    )


def _print_summary(term: Terminal, result: dict[str, Any]) -> None:
    from rich.table import Table

    from keel.cli.charts import demo_traffic, release_charts

    table = Table("release", "revision", "outcome", "why", "s", title="keel demo: the releases")
    for name, r in zip(_NAMES, result["releases"], strict=False):
        table.add_row(name, r["revision"], r["phase"].replace("_", " "), _why(r), f"{r['duration_s']:.0f}")
    term.print(table)
    width = min(term.out.width, 100)
    for name, r in zip(_NAMES, result["releases"], strict=False):
        term.print(f"\n[bold]{name} release[/bold] {r['revision']}: {r['phase'].replace('_', ' ')}")
        term.print(release_charts(r, width=width))
    t = result["traffic"]
    term.print(_traffic_line(t))
    term.print(demo_traffic(t.get("timeline") or {}, width=width))
    verdict = "[green]as expected[/green]" if result["exit_code"] == 0 else "[red]not as expected[/red]"
    term.print(f"demo finished in {result['seconds']:.0f}s: {verdict}")
    if result["kept_running"]:
        term.print(
            f"the environment still runs: keel status --file {result['directory']}/keel.yaml --env demo"
        )
        term.print(f"stop it with: keel down --file {result['directory']}/keel.yaml --env demo")


def markdown(result: dict[str, Any]) -> str:
    """The demo's summary in Markdown: the releases table, the traffic, then each release's own summary as
    ``keel deploy --format markdown`` prints it. The terminal charts have no Markdown form and are left out."""
    from keel.rollout.summary import markdown as release_markdown
    from keel.rollout.summary import markdown_cell

    verdict = "✅ as expected" if result["exit_code"] == 0 else "⚠️ not as expected"
    lines = [
        f"## keel demo: {verdict}",
        "",
        "| release | revision | outcome | why | s |",
        "|---|---|---|---|---|",
    ]
    for name, r in zip(_NAMES, result["releases"], strict=False):
        outcome = r["phase"].replace("_", " ")
        lines.append(
            f"| {name} | `{r['revision']}` | {outcome} | {markdown_cell(_why(r))} | {r['duration_s']:.0f} |"
        )
    line = markdown_cell(_traffic_line(result["traffic"]))
    lines += ["", line[:1].upper() + line[1:] + ".", ""]
    lines.append(f"Finished in {result['seconds']:.0f} s.")
    if result["kept_running"]:
        keel_yaml = f"{result['directory']}/keel.yaml"
        lines.append(
            f"The environment still runs: `keel status --file {keel_yaml} --env demo`; "
            f"stop it with `keel down --file {keel_yaml} --env demo`."
        )
    for r in result["releases"]:
        lines += ["", release_markdown(r).rstrip("\n")]
    return "\n".join(lines) + "\n"


def demo(
    directory: Path = typer.Option(
        None,
        "--dir",
        envvar="KEEL_DEMO_DIR",
        help="Directory for the demo's files (default: a new temp dir).",
    ),
    port: int = typer.Option(0, "--port", envvar="KEEL_DEMO_PORT", help="Router port (default: a free one)."),
    hold: float = typer.Option(
        15.0, "--hold", envvar="KEEL_DEMO_HOLD", min=3.0, help="Seconds of the 10% hold."
    ),
    rate: float = typer.Option(
        40.0, "--rate", envvar="KEEL_DEMO_RATE", min=5.0, help="Synthetic requests/s."
    ),
    keep: bool = typer.Option(
        False, "--keep", envvar="KEEL_DEMO_KEEP", help="Leave the environment running."
    ),
    output_format: OutputFormat = FORMAT_OPTION,
) -> None:
    term = terminal()
    where = directory or Path(tempfile.mkdtemp(prefix="keel-demo-"))
    result = asyncio.run(_demo(where, port, hold, rate, keep, output_format))
    if output_format is OutputFormat.json:
        term.json(result)
    elif output_format is OutputFormat.markdown:  # verbatim: no Rich markup, emoji codes or wrapping
        term.out.print(markdown(result), markup=False, highlight=False, emoji=False, end="")
    else:
        _print_summary(term, result)
    raise typer.Exit(result["exit_code"])


def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP)(demo)
