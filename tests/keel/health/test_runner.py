from __future__ import annotations

import asyncio
import logging

import pytest

from keel.health.base import Observation, Outcome, Status
from keel.health.runner import CheckPolicy, CheckRunner, Listener, Observer, Transition
from keel.health.sanitize import Sanitizer
from tests.keel.health.fakes import DEGRADED, DISABLED, FAILED, MISCONFIGURED, OK, FakeClock, ScriptedCheck


def make(
    check: ScriptedCheck,
    *,
    clock: FakeClock | None = None,
    listeners: list[Listener] | None = None,
    observers: list[Observer] | None = None,
    **policy: object,
) -> CheckRunner:
    return CheckRunner(
        check,
        CheckPolicy(**policy),  # type: ignore[arg-type]
        sanitizer=Sanitizer(["global-secret-value"]),
        clock=clock or FakeClock(),
        wall_clock=lambda: 1_700_000_000.0,
        listeners=listeners if listeners is not None else [],
        observers=observers if observers is not None else [],
    )


def test_policy_validates() -> None:
    with pytest.raises(ValueError, match="timeout"):
        CheckPolicy(timeout=0)
    with pytest.raises(ValueError, match="failure_threshold"):
        CheckPolicy(failure_threshold=0)
    assert CheckPolicy(critical=True).failure_status is Status.UNHEALTHY
    assert CheckPolicy().failure_status is Status.DEGRADED


async def test_results_are_cached_for_their_ttl() -> None:
    clock = FakeClock()
    check = ScriptedCheck("db")
    runner = make(check, clock=clock)
    assert runner.cached(1.0) is None
    first = await runner.get(1.0)
    assert first.status is Status.HEALTHY
    assert first.message == "ok"
    clock.advance(0.9)
    assert await runner.get(1.0) is first
    assert runner.cached(1.0) is first
    assert check.calls == 1
    clock.advance(0.2)
    assert runner.cached(1.0) is None
    await runner.get(1.0)
    assert check.calls == 2
    assert runner.result is not None


async def test_concurrent_callers_share_one_probe() -> None:
    check = ScriptedCheck("db", delay=0.05)
    runner = make(check)
    results = await asyncio.gather(*(runner.get(1.0) for _ in range(200)))
    assert check.calls == 1
    assert len({id(r) for r in results}) == 1


async def test_timeout_fails_the_check_without_hanging() -> None:
    check = ScriptedCheck("slow", delay=30)
    runner = make(check, critical=True, timeout=0.05)
    result = await asyncio.wait_for(runner.get(1.0), 5)
    assert result.status is Status.UNHEALTHY
    assert result.message == "timed out after 0.05 s"


async def test_exceptions_become_sanitised_failures() -> None:
    check = ScriptedCheck(
        "db",
        ConnectionError("login svc:own-secret-value@db.internal failed global-secret-value"),
        secrets=["own-secret-value"],
    )
    result = await make(check, critical=True).get(1.0)
    assert result.status is Status.UNHEALTHY
    assert result.message.startswith("ConnectionError: login")
    for leaked in ("own-secret-value", "global-secret-value", "db.internal", "svc"):
        assert leaked not in result.message


async def test_observation_messages_are_sanitised_too() -> None:
    check = ScriptedCheck("x", Observation(Outcome.FAILED, "bad key global-secret-value"))
    result = await make(check).get(1.0)
    assert "global-secret-value" not in result.message


@pytest.mark.parametrize(
    ("observation", "critical", "status"),
    [
        (OK, True, Status.HEALTHY),
        (DEGRADED, True, Status.DEGRADED),
        (DISABLED, False, Status.DISABLED),
        (FAILED, True, Status.UNHEALTHY),
        (FAILED, False, Status.DEGRADED),
        (MISCONFIGURED, True, Status.UNHEALTHY),
        (MISCONFIGURED, False, Status.DEGRADED),
    ],
)
async def test_outcomes_map_to_statuses(observation: Observation, critical: bool, status: Status) -> None:
    result = await make(ScriptedCheck("c", observation), critical=critical).get(1.0)
    assert result.status is status
    assert result.critical is critical
    assert result.latency_ms >= 0


async def test_ok_without_message_says_ok() -> None:
    result = await make(ScriptedCheck("c", Observation(Outcome.OK))).get(1.0)
    assert result.message == "ok"


async def test_flap_damping_needs_consecutive_failures() -> None:
    clock = FakeClock()
    check = ScriptedCheck("db", OK, FAILED, FAILED, OK, FAILED, FAILED, FAILED)
    runner = make(check, clock=clock, critical=True, failure_threshold=3)
    statuses = []
    messages = []
    for _ in range(7):
        result = await runner.get(0.0)
        statuses.append(result.status)
        messages.append(result.message)
        clock.advance(1)
    assert statuses == [
        Status.HEALTHY,
        Status.HEALTHY,
        Status.HEALTHY,
        Status.HEALTHY,
        Status.HEALTHY,
        Status.HEALTHY,
        Status.UNHEALTHY,
    ]
    assert messages[1] == "down (failure 1 of 3 before unhealthy)"
    assert messages[6] == "down"


async def test_flap_damping_reports_failure_at_once_without_a_healthy_history() -> None:
    runner = make(ScriptedCheck("db", FAILED), critical=True, failure_threshold=3)
    assert (await runner.get(0.0)).status is Status.UNHEALTHY


async def test_misconfiguration_is_not_damped() -> None:
    clock = FakeClock()
    runner = make(ScriptedCheck("db", OK, MISCONFIGURED), clock=clock, critical=True, failure_threshold=3)
    await runner.get(0.0)
    clock.advance(1)
    assert (await runner.get(0.0)).status is Status.UNHEALTHY


async def test_listeners_hear_every_transition_and_observers_every_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    transitions: list[Transition] = []
    heard_async: list[Status] = []
    observed: list[Status] = []

    async def async_listener(t: Transition) -> None:
        heard_async.append(t.current)

    check = ScriptedCheck("db", OK, OK, FAILED, OK)
    runner = make(
        check,
        clock=clock,
        critical=True,
        listeners=[transitions.append, async_listener],
        observers=[lambda r: observed.append(r.status)],
    )
    caplog.set_level(logging.INFO, logger="keel.health")
    for _ in range(4):
        await runner.get(0.0)
        clock.advance(1)
    await asyncio.sleep(0)
    assert [(t.previous, t.current) for t in transitions] == [
        (None, Status.HEALTHY),
        (Status.HEALTHY, Status.UNHEALTHY),
        (Status.UNHEALTHY, Status.HEALTHY),
    ]
    assert transitions[1].name == "db"
    assert transitions[1].result.message == "down"
    assert heard_async == [Status.HEALTHY, Status.UNHEALTHY, Status.HEALTHY]
    assert observed == [Status.HEALTHY, Status.HEALTHY, Status.UNHEALTHY, Status.HEALTHY]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["health check db: healthy -> unhealthy: down"]
    assert "health check db: unknown -> healthy: ok" in caplog.messages


async def test_failing_listeners_and_observers_never_break_a_probe(caplog: pytest.LogCaptureFixture) -> None:
    def bad_listener(t: Transition) -> None:
        raise RuntimeError("listener broke")

    async def bad_async_listener(t: Transition) -> None:
        raise RuntimeError("async listener broke")

    def bad_observer(r: object) -> None:
        raise RuntimeError("observer broke")

    runner = make(ScriptedCheck("db"), listeners=[bad_listener, bad_async_listener], observers=[bad_observer])
    result = await runner.get(1.0)
    await asyncio.sleep(0.01)
    assert result.status is Status.HEALTHY
    assert "health observer failed for check db" in caplog.messages
    assert caplog.messages.count("health transition listener failed for check db") == 2


async def test_a_caller_giving_up_does_not_cancel_the_shared_probe() -> None:
    check = ScriptedCheck("slow", delay=0.2)
    runner = make(check)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(runner.get(1.0), 0.02)
    result = await runner.get(1.0)  # joins the probe that kept running
    assert result.status is Status.HEALTHY
    assert check.calls == 1


def test_timed_out_result_names_the_deadline() -> None:
    runner = make(ScriptedCheck("slow"), critical=True)
    result = runner.timed_out(0.5)
    assert result.status is Status.UNHEALTHY
    assert result.message == "no answer within the endpoint deadline of 0.5 s"
    assert result.latency_ms == 500.0
