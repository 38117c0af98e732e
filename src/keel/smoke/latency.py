"""Latency sampling: percentiles of N timed requests taken after a warm-up, never of a single request."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from keel.smoke.report import FailureKind
from keel.types import Clock


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between order statistics (numpy's default
    method); None for no samples."""
    if not samples:
        return None
    if not 0 <= q <= 100:
        raise ValueError("percentile must be within 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class SampleError:
    """One sample did not produce an acceptable answer; a latency figure over failed requests means nothing."""

    kind: FailureKind
    message: str


# One request: returns None when the answer was acceptable, else why not.
Probe = Callable[[], Awaitable[SampleError | None]]


async def timed(probe: Probe, clock: Clock) -> tuple[float, SampleError | None]:
    """Run one probe and return its wall time in seconds (from the injected clock) and its error, if any."""
    start = clock()
    error = await probe()
    return clock() - start, error


@dataclass(frozen=True)
class Samples:
    """The timed samples of one latency check, or the first sample error that stopped the sampling."""

    values: tuple[float, ...]
    error: SampleError | None = None


async def sample(probe: Probe, warmup: int, count: int, clock: Clock) -> Samples:
    """Warm up, then take ``count`` sequential samples. Sequential, because concurrent samples measure the
    queue the sampler itself creates; stops at the first failed request."""
    for i in range(warmup):
        _, error = await timed(probe, clock)
        if error is not None:
            return Samples((), SampleError(error.kind, f"warm-up request {i + 1}: {error.message}"))
    values: list[float] = []
    for i in range(count):
        elapsed, error = await timed(probe, clock)
        if error is not None:
            return Samples(
                tuple(values), SampleError(error.kind, f"sample {i + 1} of {count}: {error.message}")
            )
        values.append(elapsed)
    return Samples(tuple(values))


def format_seconds(value: float | None) -> str:
    """Human latency: ``12.3 ms`` or ``1.25 s``."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"
