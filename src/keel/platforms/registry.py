"""Platform names from keel.yaml -> implementations; unknown names are refused."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from keel.errors import ConfigError
from keel.platforms.base import Platform

# name -> "module:Class", imported only when used.
PLATFORMS: dict[str, str] = {
    "local": "keel.platforms.local:LocalPlatform",
    "cloudrun": "keel.platforms.cloudrun:CloudRunPlatform",
    "memory": "keel.platforms.memory:MemoryPlatform",
}


def platform_class(name: str) -> Any:
    """The class registered under ``name``; unknown or not-yet-available platforms are a ConfigError."""
    try:
        target = PLATFORMS[name]
    except KeyError:
        raise ConfigError(f"unknown platform {name!r} (known: {', '.join(sorted(PLATFORMS))})") from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ConfigError(f"platform {name!r} is not available in this version of keel") from None
    return getattr(module, attr)


def create_platform(service: str, env_name: str, environment: Any, state_dir: Path) -> Platform:
    """The platform of one environment of the spec (``environment`` is its spec model); ``state_dir`` is the
    project's ``.keel`` directory (the local platform keeps ``<state_dir>/<env>/``)."""
    cls = platform_class(environment.platform)
    if environment.platform == "local":
        platform: Platform = cls(
            service=service,
            env_name=env_name,
            command=list(environment.run),
            port=environment.port,
            state_dir=state_dir / env_name,
            env=dict(environment.env),
            host=environment.host,
        )
        return platform
    if environment.platform == "memory":
        memory: Platform = cls(service=service)
        return memory
    other: Platform = cls.from_spec(service=service, env_name=env_name, environment=environment)
    return other
