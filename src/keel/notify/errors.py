"""Errors of the notify package."""

from __future__ import annotations

from keel.errors import ConfigError, KeelError


class NotifyError(KeelError):
    """A notifier could not deliver an event; the message names the channel, never its secret URL."""


class NotifierConfigError(ConfigError):
    """A notification channel is misconfigured (unknown name, missing variable)."""
