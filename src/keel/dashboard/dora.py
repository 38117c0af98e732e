"""DORA and the review's deployment metrics over a window of keel's history: pure functions of a History."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from keel.dashboard.history import History, ReleaseRecord

DEFINITIONS: dict[str, str] = {
    "deployment_frequency": (
        "Deploys promoted to 100% of traffic in the window, per day (window length in days; DORA: how often "
        "changes reach production)."
    ),
    "lead_time": (
        "Median time from the commit a deploy shipped (its commit time, recorded at deploy from "
        "KEEL_COMMIT_SHA/KEEL_COMMIT_TIME, GITHUB_SHA or git) to its promotion, over the promoted deploys of the "
        "window whose commit time is known; unknown when none is."
    ),
    "change_failure_rate": (
        "Share of the finished deploys that reached users (held traffic) which failed there: rolled back by keel "
        "(automatically or aborted), left with a failed rollback, or promoted and later undone by a manual "
        "rollback. A rollback of a rollback fails no deploy (the revision it leaves served because of a rollback)."
    ),
    "rollback_rate": (
        "Rollbacks per finished deploy in the window: deploys keel rolled back (including failed rollbacks) plus "
        "finished manual rollbacks (a rollback of a rollback counts as one more), divided by the finished deploys."
    ),
    "deployment_success_rate": (
        "Share of the finished deploys of the window that were promoted (gate failures before traffic, rollbacks "
        "and failed rollbacks are unsuccessful; deploys still in progress are left out)."
    ),
    "time_to_restore": (
        "Median time from the start of an incident to recovery. Incidents: a deploy rolled back after reaching "
        "users (from keel's decision to roll back to a ready revision serving 100%; a failed rollback lasts until "
        "the next release that leaves a ready revision serving), a manual rollback (its duration) and a firing "
        "page alert (until it resolves). Overlapping incidents count as one."
    ),
}

TITLES: dict[str, str] = {
    "deployment_frequency": "Deployment frequency",
    "lead_time": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "rollback_rate": "Rollback rate",
    "deployment_success_rate": "Deployment success rate",
    "time_to_restore": "Time to restore",
}

UNITS: dict[str, str] = {
    "deployment_frequency": "per day",
    "lead_time": "seconds",
    "change_failure_rate": "ratio",
    "rollback_rate": "ratio",
    "deployment_success_rate": "ratio",
    "time_to_restore": "seconds",
}


@dataclass(frozen=True)
class Metric:
    """One figure; ``value`` None means there was nothing to measure (shown as "unknown" or "no data")."""

    name: str
    value: float | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES[self.name]

    @property
    def unit(self) -> str:
        return UNITS[self.name]

    @property
    def definition(self) -> str:
        return DEFINITIONS[self.name]

    def to_json(self) -> dict[str, Any]:
        value = None if self.value is None else round(self.value, 6)
        return {
            "name": self.name,
            "title": self.title,
            "value": value,
            "unit": self.unit,
            "definition": self.definition,
            **self.detail,
        }


@dataclass(frozen=True)
class DoraReport:
    start: float
    end: float
    metrics: tuple[Metric, ...]
    counts: dict[str, int]

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "keel.dora/v1",
            "window": {
                "start": self.start,
                "end": self.end,
                "days": round((self.end - self.start) / 86400, 6),
            },
            "counts": dict(self.counts),
            "metrics": {m.name: m.to_json() for m in self.metrics},
        }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def deploys(history: History) -> list[ReleaseRecord]:
    return [r for r in history.releases if r.kind == "deploy"]


def finished_deploys(history: History) -> list[ReleaseRecord]:
    return [r for r in deploys(history) if r.finished is not None]


def deployment_frequency(history: History) -> Metric:
    promoted = sum(1 for r in deploys(history) if r.outcome == "promoted")
    days = history.days
    return Metric("deployment_frequency", promoted / days if days > 0 else None, {"promoted": promoted})


def lead_time(history: History) -> Metric:
    promoted = [r for r in deploys(history) if r.outcome == "promoted"]
    known = [r.finished - r.committed for r in promoted if r.committed is not None and r.finished is not None]
    value = statistics.median(known) if known else None
    return Metric("lead_time", value, {"known": len(known), "unknown": len(promoted) - len(known)})


def failed_changes(history: History) -> list[ReleaseRecord]:
    """Deploys that reached users and failed there (see DEFINITIONS["change_failure_rate"])."""
    failed: dict[str, ReleaseRecord] = {}
    # the revision serving now, and the deploy whose promotion put it there (None: a rollback did)
    serving: tuple[str | None, ReleaseRecord | None] = (None, None)
    for r in history.releases:
        if r.finished is None:
            continue
        if r.kind == "deploy":
            if r.reached_users and r.outcome in ("rolled_back", "rollback_failed"):
                failed[r.id] = r
            elif r.outcome == "promoted":
                serving = (r.revision, r)
        elif r.outcome in ("rolled_back", "rollback_failed"):  # a manual rollback moved traffic
            revision, deploy = serving
            if deploy is not None and r.previous == revision:
                failed[deploy.id] = deploy
            serving = (r.revision, None)
    return list(failed.values())


def change_failure_rate(history: History) -> Metric:
    reached = [r for r in finished_deploys(history) if r.reached_users or r.outcome == "promoted"]
    failed = failed_changes(history)
    return Metric(
        "change_failure_rate",
        _ratio(len(failed), len(reached)),
        {"failed": len(failed), "changes": len(reached)},
    )


def rollback_rate(history: History) -> Metric:
    finished = finished_deploys(history)
    automatic = sum(1 for r in finished if r.outcome in ("rolled_back", "rollback_failed"))
    manual = sum(
        1
        for r in history.releases
        if r.kind == "rollback" and r.finished is not None and r.outcome in ("rolled_back", "rollback_failed")
    )
    return Metric(
        "rollback_rate",
        _ratio(automatic + manual, len(finished)),
        {"automatic": automatic, "manual": manual, "deploys": len(finished)},
    )


def deployment_success_rate(history: History) -> Metric:
    finished = finished_deploys(history)
    promoted = sum(1 for r in finished if r.outcome == "promoted")
    return Metric(
        "deployment_success_rate",
        _ratio(promoted, len(finished)),
        {"promoted": promoted, "deploys": len(finished)},
    )


def _recovery_after(history: History, at: float) -> float | None:
    """When the first release finished after ``at`` left a ready revision serving (a promotion or a rollback)."""
    for r in history.releases:
        if r.finished is not None and r.finished > at and r.outcome in ("promoted", "rolled_back"):
            return r.finished
    return None


def incidents(history: History) -> list[tuple[float, float | None]]:
    """(start, end) of each incident, overlapping ones merged; end None: not restored yet."""
    spans: list[tuple[float, float]] = []
    for r in history.releases:
        if r.finished is None:
            continue
        if r.kind == "deploy" and r.reached_users and r.outcome in ("rolled_back", "rollback_failed"):
            start = r.failed_at if r.failed_at is not None else r.started
            end = r.finished if r.outcome == "rolled_back" else _recovery_after(history, r.finished)
            spans.append((start, end if end is not None else math.inf))
        elif r.kind == "rollback" and r.outcome in ("rolled_back", "rollback_failed"):
            end = r.finished if r.outcome == "rolled_back" else _recovery_after(history, r.finished)
            spans.append((r.started, end if end is not None else math.inf))
    for alert in history.incidents:
        spans.append((alert.fired, alert.resolved if alert.resolved is not None else math.inf))
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, None if math.isinf(e) else e) for s, e in merged]


def time_to_restore(history: History) -> Metric:
    found = incidents(history)
    restored = [end - start for start, end in found if end is not None]
    return Metric(
        "time_to_restore",
        statistics.median(restored) if restored else None,
        {
            "incidents": len(found),
            "restored": len(restored),
            "open": len(found) - len(restored),
            "mean_s": round(statistics.fmean(restored), 6) if restored else None,
        },
    )


def dora(history: History) -> DoraReport:
    """Every metric of the window, with the release counts they come from."""
    all_deploys = deploys(history)
    counts = {
        "deploys": len(all_deploys),
        "in_progress": sum(1 for r in history.releases if r.finished is None),
        "promoted": sum(1 for r in all_deploys if r.outcome == "promoted"),
        "rolled_back": sum(1 for r in all_deploys if r.outcome == "rolled_back"),
        "failed": sum(1 for r in all_deploys if r.outcome == "failed"),
        "rollback_failed": sum(1 for r in all_deploys if r.outcome == "rollback_failed"),
        "manual_rollbacks": sum(1 for r in history.releases if r.kind == "rollback"),
        "page_alerts": len(history.incidents),
    }
    metrics = (
        deployment_frequency(history),
        lead_time(history),
        change_failure_rate(history),
        rollback_rate(history),
        deployment_success_rate(history),
        time_to_restore(history),
    )
    return DoraReport(history.start, history.end, metrics, counts)


def duration_text(seconds: float) -> str:
    """``3d 4h``, ``2h 05m``, ``4m 10s``, ``12.5s``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = round(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def display(metric: Metric) -> str:
    """The figure as people read it; "unknown" (lead time without commit times) or "no data"."""
    if metric.value is None:
        return "unknown" if metric.name == "lead_time" else "no data"
    if metric.unit == "ratio":
        return f"{metric.value * 100:.1f}%"
    if metric.unit == "seconds":
        return duration_text(metric.value)
    return f"{metric.value:.2f}/day"
