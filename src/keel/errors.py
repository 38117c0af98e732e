"""The root of every error keel raises on purpose."""

from __future__ import annotations


class KeelError(Exception):
    """Base of all keel errors: the CLI turns these into one clear line and an exit code."""

    exit_code: int = 1


class ConfigError(KeelError):
    """Invalid user input (a spec file, an option): nothing was changed."""

    exit_code = 2
