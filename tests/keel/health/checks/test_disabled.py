from __future__ import annotations

from keel.health.base import Outcome, Status
from keel.health.checks import NotConfigured
from keel.health.registry import Health


async def test_declared_absent_is_disabled_and_does_not_degrade() -> None:
    check = NotConfigured("openai", "OPENAI_API_KEY is not set (declared optional in staging)")
    observation = await check.probe()
    assert observation.outcome is Outcome.DISABLED
    report = await Health().add(check).deep()
    assert report.status is Status.HEALTHY
    assert report.summary["disabled"] == 1


async def test_undeclared_absence_degrades_with_the_reason() -> None:
    check = NotConfigured("openai", "OPENAI_API_KEY is not set", allowed=False, component_type="component")
    report = await Health().add(check).deep()
    assert report.status is Status.DEGRADED
    assert report.results[0].message == "not configured: OPENAI_API_KEY is not set"
