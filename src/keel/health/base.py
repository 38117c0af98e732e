"""The check contract: what a check returns, the statuses it maps to, and the registry of check kinds."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from keel.health.errors import HealthConfigError
from keel.plugins import Registry, UnknownPlugin


class Outcome(enum.Enum):
    """What one run of a check observed, before criticality and flap damping decide the status."""

    OK = "ok"
    DEGRADED = "degraded"  # the dependency answers but is impaired (HTTP 429, slow path)
    FAILED = "failed"  # the dependency is down, refused, timed out or answered an error
    MISCONFIGURED = "misconfigured"  # credentials rejected (401/403) or required configuration missing
    DISABLED = "disabled"  # not configured, and the environment declares it may be absent


class Status(enum.Enum):
    """The status of one check and of a whole report; ordered from best to worst by ``rank``."""

    HEALTHY = "healthy"
    DISABLED = "disabled"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Status.HEALTHY: 0, Status.DISABLED: 0, Status.DEGRADED: 1, Status.UNHEALTHY: 2}


@dataclass(frozen=True)
class Observation:
    """The result of one ``Check.probe()``: an outcome and a message that is already safe to show."""

    outcome: Outcome
    message: str = ""


OK = Observation(Outcome.OK, "ok")


@dataclass(frozen=True)
class CheckResult:
    """The reported state of one check: what /health/deep lists under ``services``."""

    name: str
    status: Status
    latency_ms: float
    message: str
    critical: bool
    checked_at: float  # wall-clock seconds since the epoch
    component_type: str = "component"

    @property
    def failing(self) -> bool:
        return self.status in (Status.DEGRADED, Status.UNHEALTHY)


@runtime_checkable
class Check(Protocol):
    """One dependency probe. Raising is a failure; the runner adds timeouts, caching and sanitising."""

    name: str
    component_type: str  # IETF health draft componentType: datastore, component, system
    readiness_allowed: bool  # False for checks that must never run on /health/ready (paid APIs)

    async def probe(self) -> Observation: ...

    def secrets(self) -> Iterable[str]: ...

    async def aclose(self) -> None: ...


class BaseCheck:
    """Defaults for the small parts of the protocol, so a new check only writes ``probe``."""

    kind: ClassVar[str] = ""
    name: str = ""
    component_type: str = "component"
    readiness_allowed: bool = True

    async def probe(self) -> Observation:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def secrets(self) -> Iterable[str]:
        return ()

    async def aclose(self) -> None:
        return None


# Kind name -> check class, imported when first used: ``import keel.health`` loads no client library.
# Third-party checks need no entry: any object with the ``Check`` shape goes straight to ``Health.add``.
CHECKS: Registry[type[BaseCheck]] = Registry(
    "health check kind",
    {
        "sql": "keel.health.checks.sql:SqlCheck",
        "mongodb": "keel.health.checks.mongodb:MongoCheck",
        "redis": "keel.health.checks.redis:RedisCheck",
        "gcs": "keel.health.checks.gcs:GcsCheck",
        "openai": "keel.health.checks.providers:OpenAICheck",
        "elevenlabs": "keel.health.checks.providers:ElevenLabsCheck",
        "anthropic": "keel.health.checks.providers:AnthropicCheck",
        "pinecone": "keel.health.checks.providers:PineconeCheck",
        "sentry": "keel.health.checks.sentry:SentryConfigCheck",
        "http": "keel.health.checks.http:HttpCheck",
        "tcp": "keel.health.checks.tcp:TcpCheck",
        "not_configured": "keel.health.checks.disabled:NotConfigured",
    },
)


def kinds() -> tuple[str, ...]:
    """The names of every shipped check kind, sorted."""
    return CHECKS.names


def create(kind: str, **options: Any) -> Check:
    """Build a check by kind name; unknown names are refused with the list of known ones."""
    try:
        factory = CHECKS.load(kind)
    except UnknownPlugin as exc:
        raise HealthConfigError(str(exc)) from None
    try:
        return factory(**options)
    except TypeError as exc:
        raise HealthConfigError(f"health check kind {kind!r}: invalid options: {exc}") from None
