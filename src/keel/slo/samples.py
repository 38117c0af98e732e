"""What the embedded watcher reads each interval: one Sample from a service's /metrics and readiness."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from keel.analysis.base import LatencyHistogram
from keel.slo.config import Signals
from keel.slo.prometheus import FAILURES_METRIC


@dataclass(frozen=True)
class CheckStreak:
    """A health check's consecutive failures as the service exports them."""

    streak: float
    critical: bool
    component_type: str


@dataclass(frozen=True)
class Sample:
    """Counters since the service started (requests, 5xx, latency buckets), health streaks and readiness
    (None: the target could not be reached at all)."""

    at: float
    requests: float = 0.0
    errors: float = 0.0
    latency: LatencyHistogram = field(default_factory=lambda: LatencyHistogram((math.inf,), (0,)))
    checks: Mapping[str, CheckStreak] = field(default_factory=dict)
    ready: bool | None = True
    scraped: bool = True  # False: the counters above are unknown, not zero


class Target(Protocol):
    """Where samples come from: a service's endpoints, the local router, or a test's script."""

    async def sample(self) -> Sample: ...

    async def aclose(self) -> None: ...


def _matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    """Selector labels a series lacks are the scrape's own (Prometheus adds ``job`` and ``instance`` to what it
    scrapes): only labels the series carries can exclude it."""
    return all(labels.get(k, v) == v for k, v in selector.items())


def parse_metrics(text: str, signals: Signals, at: float, ready: bool | None = True) -> Sample:
    """Sum the selected series of a Prometheus text exposition into one Sample (as the rules' ``sum()``)."""
    from prometheus_client.parser import text_string_to_metric_families

    requests = errors = 0.0
    buckets: dict[float, float] = {}
    checks: dict[str, CheckStreak] = {}
    req_total = signals.requests
    req_base = req_total.removesuffix("_total")
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not _matches(s.labels, signals.selector):
                continue
            if family.name in (req_base, req_total) and s.name == req_total:
                requests += s.value
                if s.labels.get(signals.status_label, "").startswith("5"):
                    errors += s.value
            elif s.name == f"{signals.latency}_bucket":
                bound = float(s.labels.get("le", "+Inf"))
                buckets[bound] = buckets.get(bound, 0.0) + s.value
            elif s.name == FAILURES_METRIC:
                name = s.labels.get("check", "")
                checks[name] = CheckStreak(
                    s.value, s.labels.get("critical") == "true", s.labels.get("component_type", "")
                )
    return Sample(at, requests, errors, _histogram(buckets), checks, ready)


def _histogram(cumulative: Mapping[float, float]) -> LatencyHistogram:
    """Cumulative ``le`` buckets -> per-bucket counts."""
    if not cumulative:
        return LatencyHistogram((math.inf,), (0,))
    bounds = tuple(sorted(cumulative))
    counts: list[int] = []
    below = 0.0
    for bound in bounds:
        counts.append(max(0, round(cumulative[bound] - below)))
        below = max(below, cumulative[bound])
    return LatencyHistogram(bounds, tuple(counts))


class HttpTarget:
    """A service's ``/metrics`` and readiness endpoint, read with one short-timeout client."""

    def __init__(
        self,
        base_url: str,
        signals: Signals,
        *,
        metrics_path: str = "/metrics",
        ready_path: str = "/health/ready",
        timeout: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        import httpx

        self._base = base_url.rstrip("/")
        self._signals = signals
        self._metrics_path = metrics_path
        self._ready_path = ready_path
        self._clock = clock or time.time
        self._client = httpx.AsyncClient(timeout=timeout)

    async def sample(self) -> Sample:
        import httpx

        at = self._clock()
        try:
            ready_answer = await self._client.get(self._base + self._ready_path)
            ready: bool | None = ready_answer.status_code < 500
            metrics = await self._client.get(self._base + self._metrics_path)
        except httpx.HTTPError:
            return Sample(at, ready=None, scraped=False)  # the target down: readiness failing
        if metrics.status_code != 200:
            return Sample(at, ready=ready, scraped=False)
        return parse_metrics(metrics.text, self._signals, at, ready)

    async def aclose(self) -> None:
        await self._client.aclose()


class Clock(Protocol):
    def __call__(self) -> float: ...
