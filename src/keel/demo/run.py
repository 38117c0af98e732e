"""keel demo as a library: a local environment of the Bayit+ API, steady synthetic traffic, and three releases
through the release API (a first one, a good one through the whole canary, a faulty one rolled back)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keel.output import markdown_cell
from keel.rollout.release import Observer
from keel.rollout.report import RolloutReport

ENV = "demo"
NAMES = ("first", "good", "faulty")


@dataclass(frozen=True)
class DemoReport:
    """The three releases and the synthetic traffic (schema ``keel.demo/v1``)."""

    directory: str
    router: str
    seconds: float
    releases: tuple[RolloutReport, ...]
    traffic: Mapping[str, Any]
    kept_running: bool
    alerts: tuple[Mapping[str, Any], ...] = ()  # what keel's embedded watcher said: {alert, event, t_s}

    @property
    def as_expected(self) -> bool:
        phases = [r.phase.value for r in self.releases]
        return phases == ["promoted", "promoted", "rolled_back"]

    @property
    def exit_code(self) -> int:
        return 0 if self.as_expected else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "keel.demo/v1",
            "directory": self.directory,
            "router": self.router,
            "seconds": self.seconds,
            "releases": [r.to_json() for r in self.releases],
            "traffic": dict(self.traffic),
            "kept_running": self.kept_running,
            "alerts": [dict(a) for a in self.alerts],
            "exit_code": self.exit_code,
        }

    def to_markdown(self) -> str:
        return demo_markdown(self.to_json())


def why(release: Mapping[str, Any]) -> str:
    """How a release ended, with the time from the failing verdict to the traffic switch when it rolled back."""
    rollback = release.get("rollback") or {}
    text: str = release.get("cause") or release["reason"]
    if rollback.get("seconds_from_failure_to_switch") is not None:
        text += f" (traffic back {rollback['seconds_from_failure_to_switch']:.2f}s after the failing verdict)"
    return text


def traffic_line(traffic: Mapping[str, Any]) -> str:
    return (
        f"synthetic traffic: {traffic['requests']} requests, outcomes {traffic['outcomes']}; transport errors "
        f"{traffic['transport_errors']} (server errors come from the faulty canary while it had 10%)"
    )


def alerts_line(alerts: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{a['alert']} {a['event']} at {a['t_s']:.0f}s" for a in alerts)


def demo_markdown(result: Mapping[str, Any]) -> str:
    """The demo's summary in Markdown (from its JSON): the releases table, the traffic, then each release's own
    summary as ``keel deploy --format markdown`` prints it. The terminal charts have no Markdown form."""
    from keel.rollout.markdown import rollout_markdown

    verdict = "✅ as expected" if result["exit_code"] == 0 else "⚠️ not as expected"
    lines = [
        f"## keel demo: {verdict}",
        "",
        "| release | revision | outcome | why | s |",
        "|---|---|---|---|---|",
    ]
    for name, r in zip(NAMES, result["releases"], strict=False):
        outcome = r["phase"].replace("_", " ")
        lines.append(
            f"| {name} | `{r['revision']}` | {outcome} | {markdown_cell(why(r))} | {r['duration_s']:.0f} |"
        )
    line = markdown_cell(traffic_line(result["traffic"]))
    lines += ["", line[:1].upper() + line[1:] + ".", ""]
    if result.get("alerts"):
        lines.append("Alerts (keel's embedded watcher): " + alerts_line(result["alerts"]) + ".")
        lines.append("")
    lines.append(f"Finished in {result['seconds']:.0f} s.")
    if result["kept_running"]:
        keel_yaml = f"{result['directory']}/keel.yaml"
        lines.append(
            f"The environment still runs: `keel status --file {keel_yaml} --env demo`; "
            f"stop it with `keel down --file {keel_yaml} --env demo`."
        )
    for r in result["releases"]:
        lines += ["", rollout_markdown(r).rstrip("\n")]
    return "\n".join(lines) + "\n"


async def run_demo(
    directory: Path,
    *,
    port: int = 0,
    hold: float = 15.0,
    rate: float = 40.0,
    keep: bool = False,
    observer: Observer | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> DemoReport:
    """Run the whole demo in ``directory``; ``say`` narrates (Rich markup), ``observer`` watches each release."""
    from keel.demo.loadgen import LoadGenerator
    from keel.demo.project import FAULTY_ENV, write_project
    from keel.rollout.release import Release
    from keel.spec import load_spec

    project = write_project(directory, port or None, hold)
    spec = load_spec(project.spec_file)
    release = Release(spec, ENV, observer=observer, handle_signals=True)
    say(
        f"[bold]keel demo[/bold]: Bayit+ on the local platform, router {project.router_url}, files in {directory}"
    )
    started = time.monotonic()
    releases: list[RolloutReport] = []
    alerts: list[dict[str, Any]] = []

    def heard(change: Any) -> None:
        alerts.append(
            {"alert": change.name, "event": change.event, "t_s": round(time.monotonic() - started, 1)}
        )
        style = "red" if change.event == "firing" else "green" if change.event == "resolved" else "yellow"
        seen = (
            f", value {change.value:.3g}" if change.event != "resolved" and change.value is not None else ""
        )
        say(f"   [{style}]alert {change.name} {change.event}[/{style}] (keel watch{seen})")

    async def ship(values: dict[str, str]) -> None:
        report = await release.deploy(revision_env=values)
        releases.append(report)
        r = report.rollout
        say(f"=> {r.revision}: [bold]{r.phase.value.replace('_', ' ')}[/bold]: {r.reason}")
        if r.failed_by is not None and r.failed_by.value == "analysis":  # why: the deciding look's metrics
            for metric, outcome, reason in report.deciding_metrics():
                say(f"   {metric}: {outcome}: {reason}")

    try:
        say(
            "\n[bold]1/3 first release[/bold] (no previous revision: it takes all traffic once its gates pass)"
        )
        await ship({"BAYIT_RELEASE": "1"})
        async with LoadGenerator(project.router_url, rate=rate) as load, watching(spec, heard) as firing:
            say(
                f"\n[bold]steady traffic[/bold]: {rate:g} requests/s to the router; keel watch evaluates the alerts"
            )
            await asyncio.sleep(min(3.0, hold / 3))  # a baseline before the canary starts
            say("\n[bold]2/3 a good release[/bold] through the whole canary")
            await ship({"BAYIT_RELEASE": "2"})
            say(
                "\n[bold]3/3 a faulty release[/bold]: " + ", ".join(f"{k}={v}" for k, v in FAULTY_ENV.items())
            )
            await ship({**FAULTY_ENV, "BAYIT_RELEASE": "3"})
            await asyncio.sleep(1.0)
            for _ in range(30):  # an alert the faulty canary raised resolves once traffic is back: show it
                if not firing():
                    break
                await asyncio.sleep(0.5)
        traffic = load.stats.to_json()
    finally:
        if not keep:
            await stop_demo(spec)
    return DemoReport(
        directory=str(directory),
        router=project.router_url,
        seconds=round(time.monotonic() - started, 1),
        releases=tuple(releases),
        traffic=traffic,
        kept_running=keep,
        alerts=tuple(alerts),
    )


@asynccontextmanager
async def watching(spec: Any, heard: Callable[[Any], None]) -> AsyncIterator[Callable[[], bool]]:
    """keel's embedded watcher on the demo's router for as long as the block runs; yields "is an alert
    firing now"."""
    from keel.rollout.wiring import local_platform, open_store
    from keel.slo.router import RouterTarget
    from keel.slo.watcher import Watcher

    platform = local_platform(spec, ENV, auto_start=False)
    state: dict[str, str] = {}

    def changed(change: Any) -> None:
        if change.event in ("firing", "resolved"):
            state[change.name] = change.event
        heard(change)

    with open_store(spec) as store:
        watcher, _ = Watcher.from_spec(
            spec, ENV, platform.url, store=store, on_change=changed,
            target=RouterTarget(platform, platform.url + spec.gates.health.path),
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        try:
            yield lambda: "firing" in state.values()
        finally:
            stop.set()
            with suppress(Exception):
                await asyncio.wait_for(task, 5.0)
            await watcher.aclose()


async def stop_demo(spec: Any) -> None:
    """Stop the demo's local environment (its daemon, router and revisions)."""
    from keel.rollout.wiring import local_platform

    await local_platform(spec, ENV, auto_start=False).stop()
