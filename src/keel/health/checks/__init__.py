"""The check kinds keel ships, one module each; a class is imported when first named (its client library later)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keel.health.checks.disabled import NotConfigured
    from keel.health.checks.gcs import GcsCheck
    from keel.health.checks.http import HttpCheck
    from keel.health.checks.mongodb import MongoCheck
    from keel.health.checks.providers import AnthropicCheck, ElevenLabsCheck, OpenAICheck, PineconeCheck
    from keel.health.checks.redis import RedisCheck
    from keel.health.checks.sentry import SentryConfigCheck
    from keel.health.checks.sql import SqlCheck
    from keel.health.checks.tcp import TcpCheck

_HOMES = {
    "AnthropicCheck": "providers",
    "ElevenLabsCheck": "providers",
    "GcsCheck": "gcs",
    "HttpCheck": "http",
    "MongoCheck": "mongodb",
    "NotConfigured": "disabled",
    "OpenAICheck": "providers",
    "PineconeCheck": "providers",
    "RedisCheck": "redis",
    "SentryConfigCheck": "sentry",
    "SqlCheck": "sql",
    "TcpCheck": "tcp",
}

__all__ = [
    "AnthropicCheck",
    "ElevenLabsCheck",
    "GcsCheck",
    "HttpCheck",
    "MongoCheck",
    "NotConfigured",
    "OpenAICheck",
    "PineconeCheck",
    "RedisCheck",
    "SentryConfigCheck",
    "SqlCheck",
    "TcpCheck",
]


def __getattr__(name: str) -> Any:
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
