"""In-memory checks and a hand-driven clock for the health unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from keel.health.base import BaseCheck, Observation, Outcome


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedCheck(BaseCheck):
    """Returns (or raises) the next scripted item on each probe; the last item repeats. Counts probes."""

    def __init__(
        self,
        name: str,
        *script: Observation | BaseException,
        delay: float = 0.0,
        secrets: Iterable[str] = (),
        readiness_allowed: bool = True,
    ) -> None:
        self.name = name
        self.script = list(script) or [Observation(Outcome.OK, "ok")]
        self.delay = delay
        self.calls = 0
        self.closed = False
        self._secrets = tuple(secrets)
        self.readiness_allowed = readiness_allowed

    async def probe(self) -> Observation:
        item = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(item, BaseException):
            raise item
        return item

    def secrets(self) -> Iterable[str]:
        return self._secrets

    async def aclose(self) -> None:
        self.closed = True


OK = Observation(Outcome.OK, "ok")
FAILED = Observation(Outcome.FAILED, "down")
DEGRADED = Observation(Outcome.DEGRADED, "rate limited (HTTP 429)")
MISCONFIGURED = Observation(Outcome.MISCONFIGURED, "credentials rejected")
DISABLED = Observation(Outcome.DISABLED, "not set")
