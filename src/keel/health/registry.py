"""Health: the registry of checks and their policies, start-up state, and the report behind each probe."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from keel.health.access import DetailsAccess
from keel.health.base import Check, CheckResult, Status
from keel.health.checks.disabled import NotConfigured
from keel.health.errors import HealthConfigError
from keel.health.report import Report
from keel.health.runner import CheckPolicy, CheckRunner, Listener, Observer
from keel.health.sanitize import Sanitizer
from keel.types import Clock, Sleeper


@dataclass(frozen=True)
class HealthPaths:
    """Where each probe answers; every path is configurable."""

    health: str = "/health"
    live: str = "/health/live"
    startup: str = "/health/startup"
    ready: str = "/health/ready"
    deep: str = "/health/deep"


@dataclass(frozen=True)
class HealthConfig:
    """Endpoint-level settings: TTLs, deadlines, paths, who sees details, optional background refresh."""

    app: str = "app"
    version: str = ""
    paths: HealthPaths = field(default_factory=HealthPaths)
    ready_ttl: float = 1.0
    deep_ttl: float = 15.0
    ready_deadline: float = 4.0
    deep_deadline: float = 8.0
    access: DetailsAccess = field(default_factory=DetailsAccess)
    refresh_interval: float | None = None  # background refresh of every check; None: only on demand

    def __post_init__(self) -> None:
        for name in ("ready_ttl", "deep_ttl", "ready_deadline", "deep_deadline"):
            if getattr(self, name) <= 0:
                raise HealthConfigError(f"health config: {name} must be positive")
        if self.refresh_interval is not None and self.refresh_interval <= 0:
            raise HealthConfigError("health config: refresh_interval must be positive")


class Health:
    """The checks a service depends on, and the readiness / deep reports built from them."""

    def __init__(
        self,
        config: HealthConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        sleeper: Sleeper = asyncio.sleep,
        secrets: Iterable[str] = (),
    ) -> None:
        self.config = config or HealthConfig()
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleeper
        self._runners: list[CheckRunner] = []
        self._listeners: list[Listener] = []
        self._observers: list[Observer] = []
        self._started = False
        self._startup_message = "starting"
        self._refresher: asyncio.Task[None] | None = None
        self._last_ready: Report | None = None
        self._ready_runners: tuple[CheckRunner, ...] = ()
        token = self.config.access.token
        self.sanitizer = Sanitizer([*secrets, *([token] if token else [])])

    # -- configuration ---------------------------------------------------------------------------------
    def add(
        self,
        check: Check,
        *,
        critical: bool = False,
        timeout: float = 3.0,
        failure_threshold: int = 1,
    ) -> Health:
        """Register a check. A critical dependency that is required but not configured is refused here."""
        if any(r.name == check.name for r in self._runners):
            raise HealthConfigError(f"health check {check.name!r} is registered twice")
        if isinstance(check, NotConfigured) and not check.allowed and critical:
            raise HealthConfigError(
                f"health check {check.name!r}: required but not configured: {check.reason}"
            )
        try:
            policy = CheckPolicy(critical=critical, timeout=timeout, failure_threshold=failure_threshold)
        except ValueError as exc:
            raise HealthConfigError(f"health check {check.name!r}: {exc}") from None
        runner = CheckRunner(
            check,
            policy,
            sanitizer=self.sanitizer,
            clock=self._clock,
            wall_clock=self._wall_clock,
            listeners=self._listeners,
            observers=self._observers,
        )
        self._runners.append(runner)
        self._ready_runners = tuple(
            r for r in self._runners if r.policy.critical and r.check.readiness_allowed
        )
        self._last_ready = None
        return self

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(transition)`` on every status change of any check (alerting hooks here)."""
        self._listeners.append(listener)

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(result)`` on every fresh check result (metrics hook here)."""
        self._observers.append(observer)

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(r.check for r in self._runners)

    def latest(self) -> dict[str, CheckResult | None]:
        return {r.name: r.result for r in self._runners}

    # -- start-up --------------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._started

    def mark_started(self) -> None:
        """Start-up work (migrations, warm-up) finished: /health/startup and /health/ready may pass."""
        self._started = True
        self._startup_message = ""

    def mark_starting(self, message: str = "starting") -> None:
        """Back to 'start-up in progress' (or start-up failed: say why, it is shown on /health/startup)."""
        self._started = False
        self._startup_message = self.sanitizer(message)

    # -- reports ---------------------------------------------------------------------------------------
    def liveness(self) -> Report:
        return Report(self.config.app, "liveness", Status.HEALTHY, version=self.config.version)

    def startup(self) -> Report:
        if self._started:
            return Report(self.config.app, "startup", Status.HEALTHY, version=self.config.version)
        return Report(
            self.config.app,
            "startup",
            Status.UNHEALTHY,
            message=self._startup_message,
            version=self.config.version,
        )

    async def ready(self) -> Report:
        """Critical dependencies only, never the checks that must not run on readiness (paid APIs)."""
        if not self._started:
            return Report(
                self.config.app,
                "readiness",
                Status.UNHEALTHY,
                message="starting",
                version=self.config.version,
            )
        runners = self._ready_runners
        last = self._last_ready
        if last is not None and self._still_current(last, runners):
            return last  # the hot path: same cached results, same report (the ASGI layer reuses its bytes)
        results = await self._collect(runners, self.config.ready_ttl, self.config.ready_deadline)
        report = Report.of(self.config.app, "readiness", results, self._wall_clock(), self.config.version)
        self._last_ready = report
        return report

    def _still_current(self, report: Report, runners: tuple[CheckRunner, ...]) -> bool:
        ttl = self.config.ready_ttl
        for runner, result in zip(runners, report.results, strict=True):
            if runner.cached(ttl) is not result:
                return False
        return True

    async def deep(self) -> Report:
        """Every dependency, concurrently, within the deep deadline."""
        results = await self._collect(self._runners, self.config.deep_ttl, self.config.deep_deadline)
        return Report.of(self.config.app, "deep", results, self._wall_clock(), self.config.version)

    async def _collect(
        self, runners: Iterable[CheckRunner], max_age: float, deadline: float
    ) -> list[CheckResult]:
        runners = list(runners)
        cached = [r.cached(max_age) for r in runners]
        if all(c is not None for c in cached):  # the hot path: no task, no await
            return [c for c in cached if c is not None]
        waiting = {
            i: asyncio.ensure_future(r.get(max_age))
            for i, (r, c) in enumerate(zip(runners, cached, strict=True))
            if c is None
        }
        await asyncio.wait(waiting.values(), timeout=deadline)
        results: list[CheckResult] = []
        for i, runner in enumerate(runners):
            hit = cached[i]
            if hit is not None:
                results.append(hit)
                continue
            future = waiting[i]
            if future.done():
                results.append(future.result())
            else:
                future.cancel()  # only this caller's wait: the shared probe is shielded and keeps going
                results.append(runner.timed_out(deadline))
        return results

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin background refresh when configured (called from the ASGI lifespan start-up)."""
        interval = self.config.refresh_interval
        if interval is not None and self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh(interval), name="health-refresh")

    async def stop(self) -> None:
        """Stop background refresh and close every check's client."""
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        for runner in self._runners:
            await runner.cancel()
            with contextlib.suppress(Exception):
                await runner.check.aclose()

    async def _refresh(self, interval: float) -> None:
        while True:
            await asyncio.gather(*(r.get(interval / 2) for r in self._runners))
            await self._sleep(interval)
