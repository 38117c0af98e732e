"""The secret backend protocol: versioned values with states and aliases (Secret Manager's model)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from keel.secrets.errors import SecretsError

# The rotation's staging labels, as AWS Secrets Manager names them AWSCURRENT/AWSPENDING/AWSPREVIOUS; kept as
# version aliases (Secret Manager's word): what the service gets, what a rotation is testing, what it replaced.
CURRENT = "current"
PENDING = "pending"
PREVIOUS = "previous"

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class VersionState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"  # kept, can be enabled again; cannot be read
    DESTROYED = "destroyed"  # the value is gone for good


@dataclass(frozen=True)
class SecretVersion:
    version: int
    state: VersionState
    created: float


@dataclass(frozen=True)
class SecretInfo:
    """A secret's metadata: never its values."""

    name: str
    created: float
    versions: tuple[SecretVersion, ...] = ()
    aliases: Mapping[str, int] = field(default_factory=dict)

    def version(self, number: int) -> SecretVersion | None:
        return next((v for v in self.versions if v.version == number), None)

    @property
    def latest(self) -> SecretVersion | None:
        return self.versions[-1] if self.versions else None


class SecretBackend(Protocol):
    """Versioned secrets. Reading a disabled or destroyed version, or an unknown one, raises SecretNotFound;
    other failures raise SecretsError naming the secret. ``version`` is a number, an alias or ``latest``."""

    def describe(self, name: str) -> SecretInfo | None:
        """The secret's versions and aliases, or None when it does not exist."""
        ...

    def add_version(self, name: str, value: str) -> SecretVersion:
        """Store a new enabled version (creating the secret on its first version)."""
        ...

    def access(self, name: str, version: int | str) -> str:
        """The value of a version."""
        ...

    def set_state(self, name: str, version: int, state: VersionState) -> None:
        """Enable, disable or destroy a version (destroyed is final)."""
        ...

    def set_alias(self, name: str, alias: str, version: int | None) -> None:
        """Point an alias at a version, or remove it (None)."""
        ...


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise SecretsError(f"secret name {name!r}: use 1-255 letters, digits, '-' or '_'")
    return name


def check_alias(alias: str) -> str:
    if not ALIAS.match(alias) or alias == "latest":
        raise SecretsError(f"alias {alias!r}: use lower-case letters, digits, '-' or '_' (not 'latest')")
    return alias
