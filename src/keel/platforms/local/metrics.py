"""Per-revision request metrics of the router: per-second slots of counts, status codes and latency buckets."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.types import Clock

# Fine buckets (seconds): sub-millisecond resolution near the router's own cost, tens of ms where services
# live, seconds for the tail. The last bound is +Inf so every request lands in a bucket.
LATENCY_BOUNDS: tuple[float, ...] = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03,
    0.04, 0.05, 0.06, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.75, 1.0, 1.5, 2.0,
    3.0, 5.0, 7.5, 10.0, 30.0, 60.0, math.inf,
)  # fmt: skip

RETENTION_SECONDS = 3600

# Status recorded for a request that got no answer from its revision (refused, reset, timed out).
UPSTREAM_FAILED = 502


class _Slot:
    """One second of one revision's traffic. Mutable on purpose: it is the hot path's accumulator."""

    __slots__ = ("buckets", "errors", "requests", "second", "statuses")

    def __init__(self, second: int) -> None:
        self.second = second
        self.requests = 0
        self.errors = 0
        self.statuses: dict[int, int] = {}
        self.buckets = [0] * len(LATENCY_BOUNDS)


@dataclass(frozen=True)
class RevisionTotals:
    """Everything one revision served since the router started (or since retention, for old traffic)."""

    revision: str
    requests: int
    errors: int
    statuses: dict[int, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "requests": self.requests,
            "errors": self.errors,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
        }


class RouterMetrics:
    """Records each proxied request in its revision's slot for the current second; aggregates on read.

    The per-request path is one dict lookup (the revision's current slot), a few adds and a bisect; windows
    are summed when asked for.
    Slots older than ``retention`` seconds are dropped as new ones are opened.
    """

    def __init__(self, clock: Clock, retention: int = RETENTION_SECONDS) -> None:
        self._clock = clock
        self._retention = retention
        self._slots: dict[str, deque[_Slot]] = {}
        self._current: dict[str, _Slot] = {}  # each revision's newest slot: the hot path's one lookup

    def record(self, revision: str, status: int, seconds: float) -> None:
        second = int(self._clock())
        slot = self._current.get(revision)
        if slot is None or slot.second != second:
            slot = self._open(revision, second)
        slot.requests += 1
        if status >= 500:
            slot.errors += 1
        statuses = slot.statuses
        statuses[status] = statuses.get(status, 0) + 1
        slot.buckets[bisect_left(LATENCY_BOUNDS, seconds)] += 1

    def _open(self, revision: str, second: int) -> _Slot:
        slots = self._slots.get(revision)
        if slots is None:
            slots = self._slots[revision] = deque()
        slot = self._current[revision] = _Slot(second)
        slots.append(slot)
        horizon = second - self._retention
        while slots[0].second < horizon:
            slots.popleft()
        return slot

    def revisions(self) -> list[str]:
        return sorted(self._slots)

    def _slots_in(self, revision: str, start: float, end: float) -> Iterable[_Slot]:
        # A slot covers [second, second + 1): it belongs to the window when it overlaps [start, end].
        return (s for s in self._slots.get(revision, ()) if s.second + 1 > start and s.second <= end)

    def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        """Traffic of ``revision`` in whole seconds overlapping [start, end]; no traffic is 0 requests."""
        requests = errors = 0
        buckets = [0] * len(LATENCY_BOUNDS)
        for slot in self._slots_in(revision, start, end):
            requests += slot.requests
            errors += slot.errors
            for i, n in enumerate(slot.buckets):
                buckets[i] += n
        return RevisionWindow(
            revision=revision,
            start=start,
            end=end,
            requests=requests,
            errors=errors,
            latency=LatencyHistogram(LATENCY_BOUNDS, tuple(buckets)),
        )

    def statuses(self, revision: str, start: float, end: float) -> dict[int, int]:
        """Requests of ``revision`` by status code in whole seconds overlapping [start, end]."""
        out: dict[int, int] = {}
        for slot in self._slots_in(revision, start, end):
            for code, n in slot.statuses.items():
                out[code] = out.get(code, 0) + n
        return out

    def totals(self, revision: str) -> RevisionTotals:
        requests = errors = 0
        statuses: dict[int, int] = {}
        for slot in self._slots.get(revision, ()):
            requests += slot.requests
            errors += slot.errors
            for code, n in slot.statuses.items():
                statuses[code] = statuses.get(code, 0) + n
        return RevisionTotals(revision, requests, errors, statuses)


def window_to_json(window: RevisionWindow) -> dict[str, Any]:
    """The admin API's form of a window; the infinite bound is written "+Inf" (JSON has no infinity)."""
    return {
        "revision": window.revision,
        "start": window.start,
        "end": window.end,
        "requests": window.requests,
        "errors": window.errors,
        "latency": {
            "bounds": ["+Inf" if math.isinf(b) else b for b in window.latency.bounds],
            "counts": list(window.latency.counts),
        },
    }


def window_from_json(data: dict[str, Any]) -> RevisionWindow:
    latency = data["latency"]
    bounds = tuple(math.inf if b == "+Inf" else float(b) for b in latency["bounds"])
    return RevisionWindow(
        revision=str(data["revision"]),
        start=float(data["start"]),
        end=float(data["end"]),
        requests=int(data["requests"]),
        errors=int(data["errors"]),
        latency=LatencyHistogram(bounds, tuple(int(c) for c in latency["counts"])),
    )
