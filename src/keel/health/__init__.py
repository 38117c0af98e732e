"""Liveness, readiness, startup and deep dependency health checks for ASGI services.

Importing this package is cheap: check classes and the Prometheus hook are imported when first named, and each
check imports its client library (SQLAlchemy, PyMongo, redis-py, google-cloud-storage, sentry-sdk) when built
or first run, so a service pays only for the checks it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from keel.health.access import DetailsAccess
from keel.health.asgi import HealthMiddleware
from keel.health.base import (
    CHECKS,
    BaseCheck,
    Check,
    CheckResult,
    Observation,
    Outcome,
    Status,
    create,
    kinds,
)
from keel.health.errors import HealthConfigError, HealthError
from keel.health.registry import Health, HealthConfig, HealthPaths
from keel.health.report import Report
from keel.health.runner import CheckPolicy, Transition

if TYPE_CHECKING:
    from keel.health.checks import (
        AnthropicCheck,
        ElevenLabsCheck,
        GcsCheck,
        HttpCheck,
        MongoCheck,
        NotConfigured,
        OpenAICheck,
        PineconeCheck,
        RedisCheck,
        SentryConfigCheck,
        SqlCheck,
        TcpCheck,
    )
    from keel.health.metrics import HealthMetrics, health_metrics

_LAZY = {
    "AnthropicCheck": "keel.health.checks",
    "ElevenLabsCheck": "keel.health.checks",
    "GcsCheck": "keel.health.checks",
    "HttpCheck": "keel.health.checks",
    "MongoCheck": "keel.health.checks",
    "NotConfigured": "keel.health.checks",
    "OpenAICheck": "keel.health.checks",
    "PineconeCheck": "keel.health.checks",
    "RedisCheck": "keel.health.checks",
    "SentryConfigCheck": "keel.health.checks",
    "SqlCheck": "keel.health.checks",
    "TcpCheck": "keel.health.checks",
    "HealthMetrics": "keel.health.metrics",  # prometheus-client
    "health_metrics": "keel.health.metrics",
}


def __getattr__(name: str) -> Any:
    try:
        home = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CHECKS",
    "AnthropicCheck",
    "BaseCheck",
    "Check",
    "CheckPolicy",
    "CheckResult",
    "DetailsAccess",
    "ElevenLabsCheck",
    "GcsCheck",
    "Health",
    "HealthConfig",
    "HealthConfigError",
    "HealthError",
    "HealthMetrics",
    "HealthMiddleware",
    "HealthPaths",
    "HttpCheck",
    "MongoCheck",
    "NotConfigured",
    "Observation",
    "OpenAICheck",
    "Outcome",
    "PineconeCheck",
    "RedisCheck",
    "Report",
    "SentryConfigCheck",
    "SqlCheck",
    "Status",
    "TcpCheck",
    "Transition",
    "create",
    "health_metrics",
    "kinds",
]
