from __future__ import annotations

import asyncio
import time

import pytest

from keel.health.access import DetailsAccess
from keel.health.base import Status
from keel.health.checks import NotConfigured
from keel.health.errors import HealthConfigError
from keel.health.registry import Health, HealthConfig
from tests.keel.health.fakes import DEGRADED, FAILED, OK, FakeClock, ScriptedCheck


def test_config_refuses_non_positive_times() -> None:
    with pytest.raises(HealthConfigError, match="ready_ttl must be positive"):
        HealthConfig(ready_ttl=0)
    with pytest.raises(HealthConfigError, match="refresh_interval must be positive"):
        HealthConfig(refresh_interval=-1)


def test_add_refuses_duplicates_and_bad_policies() -> None:
    health = Health().add(ScriptedCheck("db"))
    with pytest.raises(HealthConfigError, match="'db' is registered twice"):
        health.add(ScriptedCheck("db"))
    with pytest.raises(HealthConfigError, match="'cache': failure_threshold must be at least 1"):
        health.add(ScriptedCheck("cache"), failure_threshold=0)
    assert [c.name for c in health.checks] == ["db"]


def test_a_required_critical_dependency_that_is_not_configured_refuses_to_start() -> None:
    with pytest.raises(
        HealthConfigError, match="'gcs': required but not configured: GCS_BUCKET_NAME is not set"
    ):
        Health().add(NotConfigured("gcs", "GCS_BUCKET_NAME is not set", allowed=False), critical=True)
    # declared optional, or merely optional: accepted (disabled / degraded at run time)
    Health().add(NotConfigured("gcs", "storage is local"), critical=True)
    Health().add(NotConfigured("openai", "OPENAI_API_KEY is not set", allowed=False))


async def test_startup_and_readiness_wait_for_mark_started() -> None:
    health = Health(HealthConfig(app="svc")).add(ScriptedCheck("db"), critical=True)
    assert not health.started
    startup, ready = health.startup(), await health.ready()
    assert (startup.status, startup.http_status, startup.message) == (Status.UNHEALTHY, 503, "starting")
    assert (ready.status, ready.http_status) == (Status.UNHEALTHY, 503)
    assert health.checks[0].calls == 0  # type: ignore[attr-defined]
    health.mark_started()
    assert health.started
    assert health.startup().http_status == 200
    assert (await health.ready()).http_status == 200
    health.mark_starting("start-up failed: postgresql://u:leaky-password@db/app unreachable")
    assert health.startup().http_status == 503
    assert "leaky-password" not in health.startup().message


async def test_readiness_runs_only_critical_checks_allowed_on_readiness() -> None:
    db = ScriptedCheck("db")
    paid = ScriptedCheck("openai", FAILED, readiness_allowed=False)
    cache = ScriptedCheck("cache", FAILED)
    health = Health().add(db, critical=True).add(paid, critical=True).add(cache)
    health.mark_started()
    report = await health.ready()
    assert [r.name for r in report.results] == ["db"]
    assert (db.calls, paid.calls, cache.calls) == (1, 0, 0)
    assert report.status is Status.HEALTHY


async def test_deep_runs_everything_concurrently_and_only_critical_failures_are_503() -> None:
    checks = [ScriptedCheck(n, delay=0.2) for n in ("a", "b", "c", "d", "e")]
    health = Health(HealthConfig(deep_deadline=5))
    for check in checks:
        health.add(check)
    started = time.monotonic()
    report = await health.deep()
    assert time.monotonic() - started < 0.2 * 5  # concurrent, not one after the other
    assert report.summary == {"total": 5, "healthy": 5, "degraded": 0, "unhealthy": 0, "disabled": 0}

    degraded = Health().add(ScriptedCheck("db"), critical=True).add(ScriptedCheck("ai", FAILED))
    report = await degraded.deep()
    assert (report.status, report.http_status) == (Status.DEGRADED, 200)
    failing = Health().add(ScriptedCheck("db", FAILED), critical=True).add(ScriptedCheck("ai", DEGRADED))
    report = await failing.deep()
    assert (report.status, report.http_status) == (Status.UNHEALTHY, 503)


async def test_deep_answers_by_its_deadline_while_a_check_hangs() -> None:
    hanging = ScriptedCheck("hangs", delay=60)
    health = (
        Health(HealthConfig(deep_deadline=0.2))
        .add(hanging, timeout=30)
        .add(ScriptedCheck("db"), critical=True)
    )
    started = time.monotonic()
    report = await health.deep()
    elapsed = time.monotonic() - started
    assert elapsed < 0.2 + 2.0  # the deadline, not the check's 30 s timeout (slack for a loaded machine)
    by_name = {r.name: r for r in report.results}
    assert by_name["hangs"].status is Status.DEGRADED
    assert by_name["hangs"].message == "no answer within the endpoint deadline of 0.2 s"
    assert by_name["db"].status is Status.HEALTHY
    await health.stop()  # cancels the probe still hanging
    assert health._runners[0]._inflight is None


async def test_deep_uses_the_longer_ttl_and_ready_the_shorter() -> None:
    clock = FakeClock()
    db = ScriptedCheck("db")
    health = Health(HealthConfig(ready_ttl=1, deep_ttl=10), clock=clock).add(db, critical=True)
    health.mark_started()
    await health.ready()
    clock.advance(5)
    await health.deep()
    assert db.calls == 1  # 5 s old is fresh enough for deep
    await health.ready()
    assert db.calls == 2  # but not for readiness
    assert health.latest()["db"] is not None


async def test_background_refresh_keeps_results_fresh_and_stop_closes_checks() -> None:
    slept: list[float] = []
    gate = asyncio.Event()

    async def sleeper(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) >= 3:
            gate.set()
        await asyncio.sleep(0)

    clock = FakeClock()
    db = ScriptedCheck("db", OK)
    health = Health(HealthConfig(refresh_interval=2.0), clock=clock, sleeper=sleeper).add(db)
    await health.start()
    await health.start()  # idempotent
    await asyncio.wait_for(gate.wait(), 5)
    assert slept[:3] == [2.0, 2.0, 2.0]
    assert db.calls >= 1
    await health.stop()
    assert db.closed
    await health.stop()  # idempotent


async def test_start_without_refresh_does_nothing() -> None:
    db = ScriptedCheck("db")
    health = Health().add(db)
    await health.start()
    assert db.calls == 0
    await health.stop()
    assert db.closed


async def test_listeners_and_observers_are_wired_to_every_check() -> None:
    seen: list[str] = []
    observed: list[str] = []
    health = Health().add(ScriptedCheck("a")).add(ScriptedCheck("b"))
    health.add_listener(lambda t: seen.append(t.name))
    health.add_observer(lambda r: observed.append(r.name))
    await health.deep()
    assert sorted(seen) == ["a", "b"]
    assert sorted(observed) == ["a", "b"]


def test_the_token_is_itself_scrubbed() -> None:
    health = Health(HealthConfig(access=DetailsAccess(token="tok-abcdef-123456")), secrets=["other-secret"])
    assert health.sanitizer("tok-abcdef-123456 other-secret") == "<redacted> <redacted>"


async def test_readiness_reuses_its_report_until_a_result_changes() -> None:
    clock = FakeClock()
    db = ScriptedCheck("db", OK, FAILED)
    health = Health(HealthConfig(ready_ttl=1), clock=clock).add(db, critical=True)
    health.mark_started()
    first = await health.ready()
    assert await health.ready() is first
    clock.advance(2)
    second = await health.ready()
    assert second is not first
    assert (second.status, second.http_status) == (Status.UNHEALTHY, 503)
    health.add(ScriptedCheck("cache"), critical=True)  # a new check invalidates the reused report
    assert len((await health.ready()).results) == 2
