"""The check kinds keel ships; importing this package registers each one by its kind name."""

from __future__ import annotations

from keel.health.checks.disabled import NotConfigured
from keel.health.checks.gcs import GcsCheck
from keel.health.checks.http import HttpCheck
from keel.health.checks.mongodb import MongoCheck
from keel.health.checks.providers import AnthropicCheck, ElevenLabsCheck, OpenAICheck, PineconeCheck
from keel.health.checks.redis import RedisCheck
from keel.health.checks.sentry import SentryConfigCheck
from keel.health.checks.sql import SqlCheck
from keel.health.checks.tcp import TcpCheck

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
