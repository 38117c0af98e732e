"""The router metric source: windows from the local platform, errors translated, the registry's factory."""

from __future__ import annotations

import math
import time

import pytest

from keel.analysis.base import LatencyHistogram, MetricSource, RevisionWindow
from keel.analysis.config import AnalysisSpec
from keel.analysis.errors import AnalysisConfigError, AnalysisError
from keel.analysis.sources.registry import create_source
from keel.analysis.sources.router import RouterSource
from keel.platforms.local.errors import DaemonNotRunning
from keel.platforms.local.metrics import RouterMetrics


class MetricsBackedPlatform:
    """The one method the source uses, answered from a real RouterMetrics (as the daemon does)."""

    def __init__(self, metrics: RouterMetrics) -> None:
        self.metrics = metrics
        self.asked: list[tuple[str, float, float]] = []

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        self.asked.append((revision, start, end))
        return self.metrics.window(revision, start, end)


class DownPlatform:
    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        raise DaemonNotRunning("local environment test of svc is not running")


async def test_window_comes_from_the_router_metrics() -> None:
    metrics = RouterMetrics(time.time)
    for status, seconds in [(200, 0.01), (200, 0.02), (500, 0.3), (502, 0.0001)]:
        metrics.record("canary", status, seconds)
    platform = MetricsBackedPlatform(metrics)
    source: MetricSource = RouterSource(platform)
    now = time.time()
    window = await source.window("canary", now - 10, now)
    assert (window.requests, window.errors, window.error_rate) == (4, 2, 0.5)
    assert isinstance(window.latency, LatencyHistogram) and window.latency.bounds[-1] == math.inf
    assert window.latency.quantile(0.5) is not None
    assert platform.asked == [("canary", now - 10, now)]
    empty = await source.window("nobody", now - 10, now)
    assert empty.requests == 0 and empty.error_rate is None  # no data is not an error


async def test_platform_failures_become_analysis_errors() -> None:
    source = RouterSource(DownPlatform())
    with pytest.raises(
        AnalysisError, match="router metrics of canary: local environment test of svc is not running"
    ):
        await source.window("canary", 0, 1)
    with pytest.raises(AnalysisError, match="ends"):
        await RouterSource(MetricsBackedPlatform(RouterMetrics(time.time))).window("canary", 10, 5)


def test_factory_needs_the_local_platform() -> None:
    spec = AnalysisSpec(source="router")
    platform = MetricsBackedPlatform(RouterMetrics(time.time))
    assert isinstance(create_source(spec, platform=platform), RouterSource)
    with pytest.raises(AnalysisConfigError, match="platform: local"):
        create_source(spec)
