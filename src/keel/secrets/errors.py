"""Errors of the secrets package: what failed and on which secret, never a value."""

from __future__ import annotations

from keel.errors import ConfigError, KeelError


class SecretsError(KeelError):
    """A secret backend or a rotation failed; the message names the secret and the step, never its value."""


class SecretNotFound(SecretsError):
    """The secret, version or alias does not exist (or its version is disabled or destroyed)."""

    exit_code = 2


class RotationRefused(ConfigError):
    """A rotation cannot start or resume as asked (one is already under way, nothing to resume...)."""
