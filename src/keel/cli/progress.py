"""Live progress of a rollout in the terminal (a release Observer): phase, weight, time left in the hold, the
canary's metrics."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from keel.cli.terminal import Terminal
from keel.notify.base import Event, Severity
from keel.rollout.phases import Phase
from keel.rollout.state import Rollout

_STYLE = {Severity.INFO: "cyan", Severity.WARNING: "yellow", Severity.CRITICAL: "bold red"}


class RolloutView:
    """On a terminal: a Live panel redrawn 4 times a second plus the event log. Elsewhere (CI, pipes): one
    line per event on stderr. The result itself goes to stdout, so ``--format json`` stays parseable."""

    def __init__(self, term: Terminal, *, live: bool) -> None:
        self._term = term
        self._live_wanted = live and term.err.is_terminal and not term.quiet
        self._live: Live | None = None
        self.state: Rollout | None = None
        self._events: list[Event] = []

    def __enter__(self) -> RolloutView:
        if self._live_wanted:
            self._live = Live(
                get_renderable=self._render, console=self._term.err, refresh_per_second=4, transient=True
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
            for event in self._events[-12:]:
                self._term.info(self._line(event))

    def on_tick(self, rollout: Rollout) -> None:
        if self.state is None or self.state.id != rollout.id:
            verb = "releasing" if rollout.kind.value == "deploy" else "rolling back to"
            if rollout.phase is not Phase.PENDING:
                verb = f"continuing rollout of {rollout.kind.value}:"
            self._term.info(f"{verb} {rollout.revision} in {rollout.environment} (rollout {rollout.id})")
        self.state = rollout

    def on_warning(self, message: str) -> None:
        self._term.warn(message)

    def on_event(self, event: Event) -> None:
        self._events.append(event)
        if self._live is None:
            self._term.info(self._line(event))

    @staticmethod
    def _line(event: Event) -> str:
        stamp = datetime.fromtimestamp(event.at or time.time()).strftime("%H:%M:%S")
        style = _STYLE[event.severity]
        return f"[dim]{stamp}[/dim] [{style}]{event.title}[/{style}]: {event.message}"

    def _render(self) -> Any:
        r = self.state
        parts: list[Any] = []
        if r is not None:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold")
            grid.add_column()
            grid.add_row("phase", r.phase.value.replace("_", " "))
            grid.add_row("revision", f"{r.revision}  (previous: {r.previous or 'none'})")
            step = r.current_step
            if step is not None and r.phase in (Phase.SHIFTING, Phase.HOLDING, Phase.PAUSED):
                grid.add_row("step", f"{r.step + 1}/{len(r.steps)}: {r.weight}% to the new revision")
                if r.step_started is not None and step.hold:
                    left = r.step_started + step.hold + r.extra_hold - time.time()
                    extra = f" (extended {r.extra_hold:g}s: inconclusive)" if r.extra_hold else ""
                    grid.add_row(
                        "hold", f"{max(0.0, left):.0f}s left of {step.hold + r.extra_hold:g}s{extra}"
                    )
            if r.phase is Phase.HEALTH_GATE:
                grid.add_row(
                    "health", f"{r.gate_passes} consecutive passes; last probe: {r.last_probe or '-'}"
                )
            verdict = r.last_verdict
            if verdict is not None:
                grid.add_row("analysis", f"{verdict.outcome.value}: {verdict.summary}")
                for metric in verdict.metrics[:4]:
                    grid.add_row(f"  {metric.metric}", metric.reason)
            parts.append(grid)
        for event in self._events[-6:]:
            parts.append(Text.from_markup(self._line(event)))
        return Group(*parts)
