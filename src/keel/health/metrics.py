"""Prometheus signals: ``health_check_status{check}``, ``health_check_latency_seconds{check}``, and for alert
rules ``health_check_consecutive_failures{check,critical,component_type}`` and ``health_ready``."""

from __future__ import annotations

import weakref
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from keel.health.base import CheckResult, Status

# 1 healthy, 0.5 degraded, 0 unhealthy, -1 disabled: alert on ``health_check_status < 1 >= 0``.
STATUS_VALUE = {Status.HEALTHY: 1.0, Status.DEGRADED: 0.5, Status.UNHEALTHY: 0.0, Status.DISABLED: -1.0}

# keyed by the registry itself (weakly): an id() key would hand a new registry the gauges of a collected one
# whose address it reuses
_BY_REGISTRY: weakref.WeakKeyDictionary[Any, HealthMetrics] = weakref.WeakKeyDictionary()


class HealthMetrics:
    """An observer for ``Health.add_observer``: every fresh result updates both gauges."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.status = Gauge(
            "health_check_status",
            "Latest status of a health check: 1 healthy, 0.5 degraded, 0 unhealthy, -1 disabled.",
            ["check"],
            registry=registry,
        )
        self.latency = Gauge(
            "health_check_latency_seconds",
            "Latency of the latest run of a health check, in seconds.",
            ["check"],
            registry=registry,
        )
        # keel's alert rules (DatabaseConnectionFailures, ExternalApiDegraded, ReadinessFailing) read these.
        self.failures = Gauge(
            "health_check_consecutive_failures",
            "Runs of a health check in a row that were not healthy (0 once it passes).",
            ["check", "critical", "component_type"],
            registry=registry,
        )
        self.ready = Gauge(
            "health_ready",
            "1 while no critical check is unhealthy (readiness answers 200), else 0.",
            registry=registry,
        )
        self._streaks: dict[str, int] = {}
        self._unhealthy_critical: set[str] = set()
        self.ready.set(1)

    def __call__(self, result: CheckResult) -> None:
        self.status.labels(result.name).set(STATUS_VALUE[result.status])
        self.latency.labels(result.name).set(result.latency_ms / 1000.0)
        streak = self._streaks.get(result.name, 0) + 1 if result.failing else 0
        self._streaks[result.name] = streak
        critical = "true" if result.critical else "false"
        self.failures.labels(result.name, critical, result.component_type).set(streak)
        if result.critical and result.status is Status.UNHEALTHY:
            self._unhealthy_critical.add(result.name)
        else:
            self._unhealthy_critical.discard(result.name)
        self.ready.set(0 if self._unhealthy_critical else 1)


def health_metrics(registry: Any = None) -> HealthMetrics:
    """The gauges on ``registry`` (default: prometheus_client's REGISTRY), created once per registry."""
    registry = REGISTRY if registry is None else registry
    found = _BY_REGISTRY.get(registry)
    if found is None:
        found = _BY_REGISTRY[registry] = HealthMetrics(registry)
    return found
