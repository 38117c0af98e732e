"""Errors raised by keel.health: refusing a configuration that cannot be served safely."""

from __future__ import annotations

from keel.errors import ConfigError, KeelError


class HealthError(KeelError):
    """Base of every error keel.health raises on purpose."""


class HealthConfigError(HealthError, ConfigError):
    """The health configuration is invalid (unknown check kind, required dependency not configured, ...)."""
