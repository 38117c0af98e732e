"""Errors raised by keel.analysis: sources that cannot be read and invalid analysis configuration."""

from __future__ import annotations

from keel.errors import ConfigError, KeelError


class AnalysisError(KeelError):
    """A metric source could not be read (not the same as "no data", which is a window with 0 requests)."""


class AnalysisConfigError(AnalysisError, ConfigError):
    """The analysis configuration is invalid (unknown source or judge name, missing source settings)."""
