"""The figures behind every panel, as JSON-ready dicts (the JSON API and the HTML page both read these), and
the bounds of every query parameter."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from keel.dashboard.dora import dora
from keel.dashboard.history import HistoryReader
from keel.dashboard.series import Slice, WindowSource, performance, read_slices, slos
from keel.errors import KeelError
from keel.slo.config import SloSpec
from keel.store import Store

ROLLOUT_ID = re.compile(r"^[a-z]-[a-z0-9]{1,40}$")


class BadParameter(KeelError):
    """A query parameter out of its bounds: the API answers 400 naming it."""

    exit_code = 2


@dataclass(frozen=True)
class Bound:
    default: float
    low: float
    high: float
    integer: bool = True


# Every query parameter the API and the page accept, with its default and bounds.
PARAMETERS: dict[str, Bound] = {
    "days": Bound(30, 1, 3650),  # DORA and deployments window
    "minutes": Bound(15, 1, 60),  # performance and SLO span (the router keeps an hour)
    "points": Bound(30, 2, 120),  # slices of that span
    "limit": Bound(20, 1, 500),  # releases per page of the timeline
    "offset": Bound(0, 0, 1_000_000),
    "refresh": Bound(15, 0, 3600),  # seconds between page refreshes (0: off)
}


def parameter(query: Mapping[str, str], name: str) -> int:
    bound = PARAMETERS[name]
    raw = query.get(name)
    if raw is None or raw == "":
        return int(bound.default)
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"query parameter {name}: expected an integer, got {raw[:40]!r}") from None
    if not bound.low <= value <= bound.high:
        raise BadParameter(f"query parameter {name}: {value} is outside {bound.low:g}..{bound.high:g}")
    return value


def rollout_id(raw: str) -> str:
    if not ROLLOUT_ID.match(raw):
        raise BadParameter(f"rollout id {raw[:60]!r}: expected a keel rollout id such as r-abc123")
    return raw


class UnreadableRecord(KeelError):
    """A release whose stored state this keel cannot read (written by another version, or damaged)."""


class ServiceProbe(Protocol):
    """Readiness and the service's own metrics (the real one reads HTTP; tests may pass another)."""

    async def health(self) -> dict[str, Any]: ...

    async def errors(self) -> dict[str, Any]: ...


@dataclass
class Dashboard:
    """One service and environment: its store, and (when the platform can say) its traffic windows and the
    service's endpoints."""

    store: Store
    service: str
    environment: str
    objectives: Mapping[str, SloSpec]
    windows: WindowSource | None = None
    probe: ServiceProbe | None = None
    source: str = "router"  # what the windows come from (analysis.source)
    clock: Callable[[], float] = time.time
    notes: list[str] = field(default_factory=list)

    @property
    def reader(self) -> HistoryReader:
        return HistoryReader(self.store, self.service, self.environment)

    def meta(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "now": self.clock(),
            "notes": self.notes,
        }

    # --- panels -----------------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        from keel.slo.status import from_store

        # alerts pending or firing, as keel watch last saved them (the store is the watcher's memory)
        alerts = [a.to_json() for a in from_store(self.store, self.service, self.environment)]
        if self.probe is None:
            reason = "this environment's platform gives the dashboard no service URL"
            return {"available": False, "reason": reason, "alerts": alerts}
        return {"available": True, **await self.probe.health(), "alerts": alerts}

    async def _slices(self, minutes: int, points: int) -> tuple[float, float, list[Slice] | str]:
        """The span's slices, or why there are none (no source, or the source is down)."""
        end = self.clock()
        start = end - minutes * 60.0
        if self.windows is None:
            return start, end, "no metric source for this environment"
        try:
            return start, end, await read_slices(self.windows, start, end, points)
        except KeelError as exc:
            return start, end, f"{self.source} unavailable: {exc}"

    async def performance_and_slos(self, minutes: int, points: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both panels from one read of the source (the page shows them together)."""
        start, end, slices = await self._slices(minutes, points)
        if isinstance(slices, str):
            gone = {"available": False, "reason": slices}
            return gone, gone
        head = {"available": True, "source": self.source, "start": start, "end": end}
        errors = await self.probe.errors() if self.probe is not None else None
        perf = {**head, **performance(slices), "errors": errors}
        return perf, {**head, "slos": slos(slices, self.objectives)}

    async def performance(self, minutes: int, points: int) -> dict[str, Any]:
        return (await self.performance_and_slos(minutes, points))[0]

    async def slos(self, minutes: int, points: int) -> dict[str, Any]:
        start, end, slices = await self._slices(minutes, points)
        if isinstance(slices, str):
            return {"available": False, "reason": slices}
        return {"available": True, "source": self.source, "start": start, "end": end,
                "slos": slos(slices, self.objectives)}  # fmt: skip

    def deployments(self, days: int, limit: int, offset: int) -> dict[str, Any]:
        end = self.clock()
        start = end - days * 86400.0
        reader = self.reader
        releases = reader.releases(start, end, limit=limit, offset=offset)
        verdicts = reader.deciding_verdicts([r.id for r in releases])
        rows = []
        for r in releases:
            v = verdicts.get(r.id)
            verdict = None
            if v is not None:
                verdict = {
                    "step": v.step,
                    "look": v.look,
                    "at": v.at,
                    "outcome": v.outcome,
                    "summary": v.summary,
                }
            rows.append({**r.to_json(), "deciding_verdict": verdict, "link": f"/deployments/{r.id}"})
        counts = reader.outcome_counts(start, end)
        return {
            "start": start,
            "end": end,
            "total": sum(counts.values()),
            "counts": counts,
            "daily": reader.daily_counts(start, end),
            "limit": limit,
            "offset": offset,
            "releases": rows,
        }

    def deployment(self, rid: str) -> dict[str, Any] | None:
        """One release's full report (keel.rollout/v1): steps, traffic over time, every verdict, the cause."""
        from keel.rollout.report import build_report
        from keel.rollout.state import Rollout

        row = self.store.rollout(rid)
        if row is None or row.service != self.service or row.environment != self.environment:
            return None
        try:
            return build_report(self.store, Rollout.from_json(row.state)).to_json()
        except (KeyError, TypeError, ValueError) as exc:
            raise UnreadableRecord(
                f"release {rid}: its stored record cannot be read ({type(exc).__name__}: {exc})"
            ) from None

    def traffic(self, rid: str | None) -> dict[str, Any]:
        """The traffic split over time of one deploy (default: the newest): the new revision's weight."""
        if rid is None:
            latest = [r for r in self.reader.releases(0.0, self.clock() + 1, limit=50) if r.kind == "deploy"]
            if not latest:
                return {"rollout": None, "points": []}
            rid = latest[0].id
        report = self.deployment(rid)
        if report is None:
            return {"rollout": rid, "points": [], "missing": True}
        return {
            "rollout": rid,
            "revision": report["revision"],
            "previous": report["previous"],
            "phase": report["phase"],
            "started": report["started"],
            "points": report["traffic"],
        }

    def dora(self, days: int) -> dict[str, Any]:
        end = self.clock()
        return dora(self.reader.history(end - days * 86400.0, end)).to_json()


def panel_names() -> Sequence[str]:
    return ("health", "performance", "slos", "deployments", "traffic", "dora")
