"""An in-memory backend: for tests and dry runs (nothing is kept)."""

from __future__ import annotations

import time
from dataclasses import replace

from keel.secrets.backends.base import (
    SecretInfo,
    SecretVersion,
    VersionState,
    check_alias,
    check_name,
)
from keel.secrets.errors import SecretNotFound, SecretsError
from keel.types import Clock


class MemoryBackend:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._info: dict[str, SecretInfo] = {}
        self._values: dict[tuple[str, int], str] = {}

    def names(self) -> list[str]:
        return sorted(self._info)

    def describe(self, name: str) -> SecretInfo | None:
        return self._info.get(name)

    def add_version(self, name: str, value: str) -> SecretVersion:
        check_name(name)
        info = self._info.get(name) or SecretInfo(name, self._clock())
        number = (info.latest.version if info.latest else 0) + 1
        version = SecretVersion(number, VersionState.ENABLED, self._clock())
        self._info[name] = replace(info, versions=(*info.versions, version))
        self._values[(name, number)] = value
        return version

    def access(self, name: str, version: int | str) -> str:
        info = self._info.get(name)
        number = resolve_version(info, name, version)
        found = info.version(number) if info else None
        if found is None or found.state is not VersionState.ENABLED:
            state = found.state.value if found else "missing"
            raise SecretNotFound(f"secret {name} version {version}: {state}")
        return self._values[(name, number)]

    def set_state(self, name: str, version: int, state: VersionState) -> None:
        info = self._info.get(name)
        found = info.version(version) if info else None
        if info is None or found is None:
            raise SecretNotFound(f"secret {name} version {version}: missing")
        if found.state is VersionState.DESTROYED and state is not VersionState.DESTROYED:
            raise SecretsError(f"secret {name} version {version}: destroyed, cannot be {state.value}")
        versions = tuple(replace(v, state=state) if v.version == version else v for v in info.versions)
        self._info[name] = replace(info, versions=versions)
        if state is VersionState.DESTROYED:
            self._values.pop((name, version), None)

    def set_alias(self, name: str, alias: str, version: int | None) -> None:
        check_alias(alias)
        info = self._info.get(name)
        if info is None or (version is not None and info.version(version) is None):
            raise SecretNotFound(f"secret {name} version {version}: missing")
        aliases = {k: v for k, v in info.aliases.items() if k != alias}
        if version is not None:
            aliases[alias] = version
        self._info[name] = replace(info, aliases=aliases)


def resolve_version(info: SecretInfo | None, name: str, version: int | str) -> int:
    """A version number from a number, an alias or ``latest`` (the newest enabled version)."""
    if info is None:
        raise SecretNotFound(f"secret {name}: not found")
    if isinstance(version, int):
        return version
    if version.isdigit():
        return int(version)
    if version == "latest":
        enabled = [v.version for v in info.versions if v.state is VersionState.ENABLED]
        if not enabled:
            raise SecretNotFound(f"secret {name}: no enabled version")
        return enabled[-1]
    if version in info.aliases:
        return info.aliases[version]
    raise SecretNotFound(f"secret {name}: no version or alias {version!r}")
