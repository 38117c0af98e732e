"""The rules' conditions evaluated over the watcher's recent samples, with the PromQL rules' semantics:
sums over the selected series, increases over a window (counter resets absorbed), the same guards."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

from keel.analysis.base import LatencyHistogram
from keel.slo.rules import BurnRate, CheckFailing, Condition, ErrorRatio, LatencyQuantile, NotReady
from keel.slo.samples import Sample


@dataclass(frozen=True)
class Reading:
    """A condition at one evaluation: ``active`` None when there is not enough data to say (no data is not
    a recovery: a firing alert neither resolves nor a quiet one fires on it)."""

    active: bool | None
    value: float | None = None
    detail: str = ""


class History:
    """Samples of the last ``span`` seconds with counters made monotonic (a restarted service's counters
    start again from zero: its earlier total is carried over, as PromQL's ``increase`` does)."""

    def __init__(self, span: float) -> None:
        self.span = span
        self._samples: deque[Sample] = deque()
        self._last_raw: Sample | None = None
        self._offset: tuple[float, float, LatencyHistogram | None] = (0.0, 0.0, None)  # carried over
        self.latest: Sample | None = None

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, sample: Sample) -> None:
        self.latest = sample
        if not sample.scraped:
            return
        raw = sample
        last = self._last_raw
        requests, errors, latency = self._offset
        if last is not None and (raw.requests < last.requests or raw.latency.total < last.latency.total):
            requests += last.requests
            errors += last.errors
            latency = last.latency if latency is None else _plus(latency, last.latency)
        self._offset = (requests, errors, latency)
        self._last_raw = raw
        adjusted = replace(
            raw,
            requests=raw.requests + requests,
            errors=raw.errors + errors,
            latency=raw.latency if latency is None else _plus(raw.latency, latency),
        )
        self._samples.append(adjusted)
        while len(self._samples) > 2 and self._samples[1].at <= sample.at - self.span:
            self._samples.popleft()

    def delta(self, window: float) -> tuple[Sample, Sample] | None:
        """(earliest sample at or before ``now - window``, or the earliest kept; the latest) when they are two
        distinct samples."""
        if len(self._samples) < 2:
            return None
        newest = self._samples[-1]
        start = newest.at - window
        earliest = self._samples[0]
        for s in self._samples:
            if s.at <= start + 1e-9:
                earliest = s
            else:
                break
        if earliest is newest:
            return None
        return earliest, newest


def _plus(a: LatencyHistogram, b: LatencyHistogram) -> LatencyHistogram:
    if a.bounds != b.bounds:
        return a
    return a.plus(b)


def _minus(a: LatencyHistogram, b: LatencyHistogram) -> LatencyHistogram:
    if a.bounds != b.bounds:
        return a
    return a.minus(b)


def _ratio(history: History, window: float) -> tuple[float, float] | None:
    """(5xx share, requests) over the window; None when the window holds fewer than two samples."""
    pair = history.delta(window)
    if pair is None:
        return None
    first, last = pair
    requests = last.requests - first.requests
    errors = last.errors - first.errors
    return (errors / requests if requests > 0 else math.nan), requests


def _latency_ratio(history: History, window: float, bound: float) -> tuple[float, float] | None:
    """(share of requests slower than ``bound``, requests) over the window."""
    pair = history.delta(window)
    if pair is None:
        return None
    hist = _minus(pair[1].latency, pair[0].latency)
    total = hist.total
    fast = sum(c for b, c in zip(hist.bounds, hist.counts, strict=True) if b <= bound + 1e-12)
    return ((total - fast) / total if total > 0 else math.nan), float(total)


def evaluate(cond: Condition, history: History) -> Reading:
    """One condition now. Same guards as the PromQL: minimum requests, NaN (no traffic) is not a breach."""
    latest = history.latest
    if isinstance(cond, NotReady):
        if latest is None:
            return Reading(None)
        down = latest.ready is not True
        return Reading(down, 0.0 if down else 1.0, "unreachable" if latest.ready is None else "")
    if isinstance(cond, CheckFailing):
        if latest is None or not latest.scraped:
            return Reading(None)
        streaks = {
            name: c.streak
            for name, c in latest.checks.items()
            if c.critical == cond.critical and (cond.component_type in (None, c.component_type))
        }
        worst = max(streaks.values(), default=0.0)
        failing = sorted(n for n, v in streaks.items() if v >= cond.consecutive)
        return Reading(worst >= cond.consecutive, worst, ", ".join(failing))
    if isinstance(cond, ErrorRatio):
        got = _ratio(history, cond.window)
        if got is None:
            return Reading(None)
        share, requests = got
        return Reading(requests >= cond.min_requests and share > cond.threshold, share)
    if isinstance(cond, LatencyQuantile):
        pair = history.delta(cond.window)
        if pair is None:
            return Reading(None)
        hist = _minus(pair[1].latency, pair[0].latency)
        q = hist.quantile(cond.quantile)
        if q is None:
            return Reading(False)
        return Reading(hist.total >= cond.min_requests and q > cond.threshold, q)
    return _burn(cond, history)


def _burn(cond: BurnRate, history: History) -> Reading:
    known = False
    for pair in cond.windows:
        limit = pair.factor * cond.budget
        if cond.latency is None:
            long, short = _ratio(history, pair.long), _ratio(history, pair.short)
        else:
            long = _latency_ratio(history, pair.long, cond.latency)
            short = _latency_ratio(history, pair.short, cond.latency)
        if long is None or short is None:
            continue
        known = True
        if long[0] > limit and short[0] > limit and long[1] >= cond.min_requests:
            return Reading(True, long[0], f"{pair.factor:g}x burn over {pair.long:g}s and {pair.short:g}s")
    return Reading(False if known else None)
