"""Prometheus signals: ``health_check_status{check}`` and ``health_check_latency_seconds{check}``."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from keel.health.base import CheckResult, Status

# 1 healthy, 0.5 degraded, 0 unhealthy, -1 disabled: alert on ``health_check_status < 1 >= 0``.
STATUS_VALUE = {Status.HEALTHY: 1.0, Status.DEGRADED: 0.5, Status.UNHEALTHY: 0.0, Status.DISABLED: -1.0}

_BY_REGISTRY: dict[int, HealthMetrics] = {}


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

    def __call__(self, result: CheckResult) -> None:
        self.status.labels(result.name).set(STATUS_VALUE[result.status])
        self.latency.labels(result.name).set(result.latency_ms / 1000.0)


def health_metrics(registry: Any = None) -> HealthMetrics:
    """The gauges on ``registry`` (default: prometheus_client's REGISTRY), created once per registry."""
    registry = REGISTRY if registry is None else registry
    found = _BY_REGISTRY.get(id(registry))
    if found is None:
        found = _BY_REGISTRY[id(registry)] = HealthMetrics(registry)
    return found
