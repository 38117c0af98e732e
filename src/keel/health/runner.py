"""Run one check: per-check timeout, TTL cache, single flight, flap damping and transition signals."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from keel.health.base import Check, CheckResult, Observation, Outcome, Status
from keel.health.sanitize import Sanitizer
from keel.types import Clock

log = logging.getLogger("keel.health")


@dataclass(frozen=True)
class CheckPolicy:
    """How a check's outcomes become a status: criticality, its own timeout and flap damping."""

    critical: bool = False
    timeout: float = 3.0
    failure_threshold: int = 1  # consecutive failures before the check turns degraded/unhealthy

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")

    @property
    def failure_status(self) -> Status:
        return Status.UNHEALTHY if self.critical else Status.DEGRADED


@dataclass(frozen=True)
class Transition:
    """A check changed status (``previous`` is None for its first result)."""

    name: str
    previous: Status | None
    current: Status
    result: CheckResult


Listener = Callable[[Transition], Awaitable[None] | None]
Observer = Callable[[CheckResult], None]


class CheckRunner:
    """Owns one check's latest result; any number of concurrent callers share one probe per TTL."""

    def __init__(
        self,
        check: Check,
        policy: CheckPolicy,
        *,
        sanitizer: Sanitizer,
        clock: Clock,
        wall_clock: Clock,
        listeners: list[Listener],
        observers: list[Observer],
    ) -> None:
        self.check = check
        self.policy = policy
        self.name = check.name
        self._sanitizer = sanitizer
        self._clock = clock
        self._wall_clock = wall_clock
        self._listeners = listeners
        self._observers = observers
        self._result: CheckResult | None = None
        self._at = 0.0
        self._inflight: asyncio.Task[CheckResult] | None = None
        self._failures = 0
        self._background: set[asyncio.Task[None]] = set()

    @property
    def result(self) -> CheckResult | None:
        return self._result

    def cached(self, max_age: float) -> CheckResult | None:
        """The latest result if it is at most ``max_age`` seconds old: the hot path, no awaiting."""
        if self._result is not None and self._clock() - self._at <= max_age:
            return self._result
        return None

    async def get(self, max_age: float) -> CheckResult:
        """A result at most ``max_age`` old, probing once for every caller that arrives while it runs."""
        fresh = self.cached(max_age)
        if fresh is not None:
            return fresh
        if self._inflight is None:
            self._inflight = asyncio.create_task(self._run(), name=f"health-check:{self.name}")
        # Shielded: a caller that gives up (endpoint deadline) must not cancel the shared probe.
        return await asyncio.shield(self._inflight)

    async def cancel(self) -> None:
        """Stop a probe still in flight (shutdown): a hanging dependency must not outlive the service."""
        task = self._inflight
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def timed_out(self, deadline: float) -> CheckResult:
        """The result reported for a check still running when an endpoint's deadline passed."""
        return CheckResult(
            name=self.name,
            status=self.policy.failure_status,
            latency_ms=round(deadline * 1000.0, 3),
            message=f"no answer within the endpoint deadline of {deadline:g} s",
            critical=self.policy.critical,
            checked_at=self._wall_clock(),
            component_type=self.check.component_type,
        )

    async def _run(self) -> CheckResult:
        try:
            started = self._clock()
            observation = await self._observe()
            latency = max(0.0, self._clock() - started)
            result = self._judge(observation, latency)
            previous, self._result, self._at = self._result, result, self._clock()
            self._signal(previous, result)
            return result
        finally:
            self._inflight = None

    async def _observe(self) -> Observation:
        # Secrets are read per probe: a check may resolve its engine or URL only after start-up.
        sanitize = self._sanitizer.with_secrets(self.check.secrets())
        try:
            async with asyncio.timeout(self.policy.timeout):
                observation = await self.check.probe()
        except TimeoutError:
            return Observation(Outcome.FAILED, f"timed out after {self.policy.timeout:g} s")
        except Exception as exc:
            return Observation(Outcome.FAILED, sanitize.exception(exc))
        return Observation(observation.outcome, sanitize(observation.message))

    def _judge(self, observation: Observation, latency: float) -> CheckResult:
        status, message = self._status(observation)
        return CheckResult(
            name=self.name,
            status=status,
            latency_ms=round(latency * 1000.0, 3),
            message=message,
            critical=self.policy.critical,
            checked_at=self._wall_clock(),
            component_type=self.check.component_type,
        )

    def _status(self, observation: Observation) -> tuple[Status, str]:
        outcome, message = observation.outcome, observation.message
        if outcome is Outcome.OK:
            self._failures = 0
            return Status.HEALTHY, message or "ok"
        if outcome is Outcome.DISABLED:
            self._failures = 0
            return Status.DISABLED, message
        if outcome is Outcome.DEGRADED:
            self._failures = 0
            return Status.DEGRADED, message
        if outcome is Outcome.MISCONFIGURED:  # configuration does not flap: report it at once
            self._failures = self.policy.failure_threshold
            return self.policy.failure_status, message
        self._failures += 1
        threshold = self.policy.failure_threshold
        previous = self._result
        if self._failures < threshold and previous is not None and not previous.failing:
            damped = f"{message} (failure {self._failures} of {threshold} before {self.policy.failure_status.value})"
            return previous.status, damped
        return self.policy.failure_status, message

    def _signal(self, previous: CheckResult | None, result: CheckResult) -> None:
        for observer in self._observers:
            try:
                observer(result)
            except Exception:
                log.exception("health observer failed for check %s", self.name)
        before = previous.status if previous is not None else None
        if before is result.status:
            return
        level = logging.WARNING if result.failing else logging.INFO
        log.log(
            level,
            "health check %s: %s -> %s: %s",
            self.name,
            before.value if before else "unknown",
            result.status.value,
            result.message,
        )
        transition = Transition(self.name, before, result.status, result)
        for listener in self._listeners:
            try:
                outcome = listener(transition)
                if inspect.isawaitable(outcome):
                    task = asyncio.ensure_future(self._await_listener(outcome))
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
            except Exception:
                log.exception("health transition listener failed for check %s", self.name)

    async def _await_listener(self, awaitable: Awaitable[None]) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("health transition listener failed for check %s", self.name)
