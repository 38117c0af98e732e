"""Errors of the slo package."""

from __future__ import annotations

from keel.errors import ConfigError, KeelError


class SloError(ConfigError):
    """A generator was asked for something it cannot render (unknown target)."""


class WatchError(KeelError):
    """The watcher cannot read its target (not a transient scrape failure, which is a signal)."""
