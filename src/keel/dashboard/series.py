"""Performance and SLO series over time from per-revision windows (the local router's, summed into what users
see): request rate, error rate, p50/p95/p99 against the review's targets, SLO attainment and burn rate."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.slo.config import SloSpec

# The review's targets: latency quantiles in milliseconds, rates as ratios.
TARGETS: dict[str, float] = {
    "p50_ms": 200.0,
    "p95_ms": 500.0,
    "p99_ms": 2000.0,
    "error_rate": 0.01,
    "rate_5xx": 0.001,
}


class WindowSource(Protocol):
    """What the series read: the revisions and one revision's window (LocalPlatform has both)."""

    async def revisions(self) -> Sequence[Any]: ...

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow: ...


@dataclass(frozen=True)
class Slice:
    """Every revision's traffic in [start, end), summed."""

    start: float
    end: float
    requests: int
    errors: int
    latency: LatencyHistogram | None

    def quantile_ms(self, q: float) -> float | None:
        if self.latency is None or self.latency.total == 0:
            return None
        value = self.latency.quantile(q)
        return None if value is None else value * 1000.0

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


def sum_windows(start: float, end: float, windows: Sequence[RevisionWindow]) -> Slice:
    requests = sum(w.requests for w in windows)
    errors = sum(w.errors for w in windows)
    return Slice(start, end, requests, errors, _merged([w.latency for w in windows]))


async def read_slices(source: WindowSource, start: float, end: float, count: int) -> list[Slice]:
    """``count`` equal slices of [start, end), each every revision's windows summed (one request per revision
    and slice, run concurrently)."""
    names = [str(r.name) for r in await source.revisions()]
    width = (end - start) / count
    bounds = [(start + i * width, start + (i + 1) * width) for i in range(count)]
    windows = await asyncio.gather(*(source.window(n, s, e) for s, e in bounds for n in names))
    per = len(names)
    return [sum_windows(s, e, windows[i * per : (i + 1) * per]) for i, (s, e) in enumerate(bounds)]


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def performance(slices: Sequence[Slice]) -> dict[str, Any]:
    """Points per slice (t = slice end) and the figures over the whole span, with the targets."""
    points = [
        {
            "t": s.end,
            "requests": s.requests,
            "rps": round(s.requests / (s.end - s.start), 6) if s.end > s.start else 0.0,
            "error_rate": _round(s.error_rate),
            "p50_ms": _round(s.quantile_ms(0.5), 3),
            "p95_ms": _round(s.quantile_ms(0.95), 3),
            "p99_ms": _round(s.quantile_ms(0.99), 3),
        }
        for s in slices
    ]
    whole: Slice | None = None
    if slices:
        requests, errors = sum(s.requests for s in slices), sum(s.errors for s in slices)
        whole = Slice(slices[0].start, slices[-1].end, requests, errors, _merged([s.latency for s in slices]))
    summary: dict[str, Any] = {}
    if whole is not None:
        span = whole.end - whole.start
        summary = {
            "requests": whole.requests,
            "rps": round(whole.requests / span, 6) if span > 0 else 0.0,
            "error_rate": _round(whole.error_rate),
            "p50_ms": _round(whole.quantile_ms(0.5), 3),
            "p95_ms": _round(whole.quantile_ms(0.95), 3),
            "p99_ms": _round(whole.quantile_ms(0.99), 3),
        }
        summary["meets"] = {
            key: (None if summary.get(key) is None else summary[key] < TARGETS[key])
            for key in ("p50_ms", "p95_ms", "p99_ms", "error_rate")
        }
    return {"targets": dict(TARGETS), "points": points, "summary": summary}


def _merged(histograms: Sequence[LatencyHistogram | None]) -> LatencyHistogram | None:
    """The sum of the histograms; an empty one (a source's "no data", whatever its bounds) adds nothing."""
    merged: LatencyHistogram | None = None
    for h in histograms:
        if h is None or (merged is not None and h.total == 0):
            continue
        if merged is None or merged.total == 0:
            merged = h
        elif merged.bounds == h.bounds:
            merged = merged.plus(h)
    return merged


def _bad(s: Slice, slo: SloSpec) -> int | None:
    """Requests that missed the objective in a slice: 5xx/no answer, or slower than the latency bound."""
    if slo.sli == "availability":
        return s.errors
    if s.latency is None or slo.latency is None:
        return None
    within = sum(c for b, c in zip(s.latency.bounds, s.latency.counts, strict=True) if b <= slo.latency)
    return s.latency.total - within


def slos(slices: Sequence[Slice], objectives: Mapping[str, SloSpec]) -> list[dict[str, Any]]:
    """Per SLO: attainment over the span, the error budget left (1 = untouched, negative = overspent) and the
    burn rate per slice (the bad share over the budget: 1 spends the budget exactly over the SLO period)."""
    out = []
    for name, slo in objectives.items():
        total = bad = 0
        burn = []
        for s in slices:
            miss = _bad(s, slo)
            share = miss / s.requests if miss is not None and s.requests else None
            burn.append(
                {"t": s.end, "burn_rate": _round(share / slo.budget if share is not None else None, 4)}
            )
            if miss is not None:
                total += s.requests
                bad += miss
        attainment = 1 - bad / total if total else None
        left = 1 - (bad / total) / slo.budget if total else None
        out.append(
            {
                "name": name,
                "sli": slo.sli,
                "objective": slo.objective / 100,
                "latency_s": slo.latency,
                "period_s": slo.period,
                "requests": total,
                "bad": bad,
                "attainment": _round(attainment),
                "budget_left": _round(left, 4),
                "burn": burn,
            }
        )
    return out


class SourceWindows:
    """The platform's revisions with windows from a metric source (Prometheus, Cloud Monitoring): the same
    figures the canary analysis reads, summed over the revisions."""

    def __init__(self, platform: Any, source: Any) -> None:
        self._platform = platform
        self._source = source

    async def revisions(self) -> Sequence[Any]:
        revisions: Sequence[Any] = await self._platform.revisions()
        return revisions

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        window: RevisionWindow = await self._source.window(revision, start, end)
        return window
