"""Errors of the local platform: all are PlatformErrors, so the engine handles them like any platform's."""

from __future__ import annotations

from keel.platforms.base import PlatformError


class LocalPlatformError(PlatformError):
    """The local platform refused or failed an operation; the message names the environment and revision."""


class DaemonNotRunning(LocalPlatformError):
    """No daemon serves this environment (and the caller asked not to start one)."""

    exit_code = 3


class DaemonStartError(LocalPlatformError):
    """The daemon could not be started (port taken, bad state dir); the message points at its log."""
