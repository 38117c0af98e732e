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
