"""Errors of the smoke package."""

from __future__ import annotations

from keel.errors import ConfigError, KeelError


class SmokeError(KeelError):
    """Base of errors raised on purpose by keel.smoke."""


class SmokeFailed(SmokeError):
    """A suite ran and at least one check failed (exit code 1): the report says which and why."""

    exit_code = 1


class TemplateError(SmokeError, ConfigError):
    """A ``${name}`` reference could not be resolved while running a suite (a configuration error)."""

    exit_code = 2
