from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from keel.health.base import CheckResult, Status
from keel.health.metrics import health_metrics
from keel.health.registry import Health
from tests.keel.health.fakes import FAILED, ScriptedCheck


def sample(registry: CollectorRegistry, name: str, check: str) -> float | None:
    return registry.get_sample_value(name, {"check": check})


async def test_every_result_sets_status_and_latency_gauges() -> None:
    registry = CollectorRegistry()
    health = Health().add(ScriptedCheck("database"), critical=True).add(ScriptedCheck("openai", FAILED))
    health.add(ScriptedCheck("pinecone", FAILED), critical=True)
    health.add_observer(health_metrics(registry))
    await health.deep()
    assert sample(registry, "health_check_status", "database") == 1.0
    assert sample(registry, "health_check_status", "openai") == 0.5
    assert sample(registry, "health_check_status", "pinecone") == 0.0
    latency = sample(registry, "health_check_latency_seconds", "database")
    assert latency is not None and 0 <= latency < 1
    text = generate_latest(registry).decode()
    assert 'health_check_status{check="database"} 1.0' in text


def test_disabled_is_minus_one() -> None:
    registry = CollectorRegistry()
    metrics = health_metrics(registry)
    metrics(CheckResult("gcs", Status.DISABLED, 0.1, "local", False, 0.0))
    assert sample(registry, "health_check_status", "gcs") == -1.0


def test_one_set_of_gauges_per_registry() -> None:
    registry = CollectorRegistry()
    assert health_metrics(registry) is health_metrics(registry)
    assert health_metrics() is health_metrics(REGISTRY)


def _result(name: str, status: Status, critical: bool, kind: str = "datastore") -> CheckResult:
    return CheckResult(name, status, 1.0, "", critical, 0.0, kind)


def test_consecutive_failures_count_up_and_reset_and_readiness_follows_critical_checks() -> None:
    registry = CollectorRegistry()
    metrics = health_metrics(registry)

    def streak(name: str, critical: str, kind: str) -> float | None:
        labels = {"check": name, "critical": critical, "component_type": kind}
        return registry.get_sample_value("health_check_consecutive_failures", labels)

    assert registry.get_sample_value("health_ready") == 1.0
    for _ in range(3):
        metrics(_result("database", Status.UNHEALTHY, True))
        metrics(_result("openai", Status.DEGRADED, False, "component"))
    assert streak("database", "true", "datastore") == 3.0
    assert streak("openai", "false", "component") == 3.0
    assert registry.get_sample_value("health_ready") == 0.0  # a critical check is unhealthy: readiness 503
    metrics(_result("database", Status.HEALTHY, True))
    assert streak("database", "true", "datastore") == 0.0
    assert registry.get_sample_value("health_ready") == 1.0  # an optional failure never fails readiness
