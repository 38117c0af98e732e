"""Errors of the rollout engine, each with the exit code the CLI documents."""

from __future__ import annotations

from keel.errors import ConfigError, KeelError


class RolloutError(KeelError):
    """A rollout could not proceed; nothing unsafe was left behind (the message says what state it is in)."""

    exit_code = 1


class InvalidTransition(RolloutError):
    """A phase change the transition table does not allow: a bug, never user input."""


class LockHeld(RolloutError):
    """Another live keel process is releasing to the same environment."""

    exit_code = 3


class LockLost(RolloutError):
    """Another keel process took this environment's lock over (this one was silent for longer than the lock's
    TTL, so it was presumed dead): this one stops at once, without touching traffic or the rollout record; the
    new holder decides what happens to the release."""

    exit_code = 3


class UnfinishedRollout(RolloutError):
    """A previous rollout of the environment was interrupted; resume it or roll back first."""

    exit_code = 3


class RollbackRefused(ConfigError):
    """A rollback request that cannot be honoured (no target, aborted target, N out of range)."""


class NothingToResume(ConfigError):
    """``--resume`` with no unfinished rollout in the environment."""
