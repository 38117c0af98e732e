"""An in-memory metric source: traffic recorded by the caller, for tests, simulations and demos."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from keel.analysis.base import LatencyHistogram, RevisionWindow

# Fine latency buckets (seconds), roughly 10 per decade from 1 ms to 60 s, then +Inf.
DEFAULT_BOUNDS: tuple[float, ...] = (
    0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0065, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04,
    0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0,
    4.0, 5.0, 6.5, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, float("inf"),
)  # fmt: skip


@dataclass
class _Slot:
    at: float
    requests: int
    errors: int
    counts: tuple[int, ...]


@dataclass
class MemorySource:
    """Records traffic per revision as time-stamped slots; ``window`` sums the slots inside [start, end]."""

    bounds: tuple[float, ...] = DEFAULT_BOUNDS
    _slots: dict[str, list[_Slot]] = field(default_factory=dict)

    def record(
        self,
        revision: str,
        at: float,
        *,
        latencies: Sequence[float] = (),
        errors: int = 0,
        requests: int | None = None,
        counts: Sequence[int] | None = None,
    ) -> None:
        """Add traffic at time ``at``: individual latencies (seconds) and/or ready-made bucket counts. The
        request count defaults to the number of latencies recorded."""
        hist = [0] * len(self.bounds)
        if counts is not None:
            if len(counts) != len(self.bounds):
                raise ValueError("counts and bounds differ in length")
            hist = [int(c) for c in counts]
        for latency in latencies:
            hist[min(bisect.bisect_left(self.bounds, latency), len(self.bounds) - 1)] += 1
        total = sum(hist) if requests is None else requests
        if errors > total:
            raise ValueError("more errors than requests")
        slots = self._slots.setdefault(revision, [])
        slot = _Slot(at, total, errors, tuple(hist))
        bisect.insort(slots, slot, key=lambda s: s.at)

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        requests = errors = 0
        counts = [0] * len(self.bounds)
        for slot in self._slots.get(revision, ()):
            if start <= slot.at <= end:
                requests += slot.requests
                errors += slot.errors
                counts = [a + b for a, b in zip(counts, slot.counts, strict=True)]
        return RevisionWindow(
            revision, start, end, requests, errors, LatencyHistogram(self.bounds, tuple(counts))
        )
