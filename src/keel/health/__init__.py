"""Liveness, readiness, startup and deep dependency health checks for ASGI services."""

from __future__ import annotations

from keel.health.access import DetailsAccess
from keel.health.asgi import HealthMiddleware
from keel.health.base import (
    BaseCheck,
    Check,
    CheckResult,
    Observation,
    Outcome,
    Status,
    create,
    kinds,
    register,
)
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
from keel.health.errors import HealthConfigError, HealthError
from keel.health.metrics import HealthMetrics, health_metrics
from keel.health.registry import Health, HealthConfig, HealthPaths
from keel.health.report import Report
from keel.health.runner import CheckPolicy, Transition

__all__ = [
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
    "register",
]
