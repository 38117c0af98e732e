"""Platform names map to implementations; unknown names are refused with the known ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.errors import ConfigError
from keel.platforms.local import LocalPlatform
from keel.platforms.memory import MemoryPlatform
from keel.platforms.registry import create_platform, platform_class
from keel.spec import LocalEnvironment


def test_known_unknown_and_not_yet_available() -> None:
    assert platform_class("memory") is MemoryPlatform
    assert platform_class("local") is LocalPlatform
    with pytest.raises(ConfigError, match=r"unknown platform 'k8s' \(known: cloudrun, local, memory\)"):
        platform_class("k8s")
    try:
        platform_class("cloudrun")
    except ConfigError as exc:
        assert "not available in this version" in str(exc)


def test_local_environment_becomes_a_local_platform(tmp_path: Path) -> None:
    env = LocalEnvironment(platform="local", run=("bayit", "serve"), port=8123, env={"A": "1"})
    platform = create_platform("svc", "local", env, tmp_path)
    assert isinstance(platform, LocalPlatform)
    assert platform.port == 8123 and platform.command == ("bayit", "serve") and platform.env == {"A": "1"}
    assert platform.state.path == tmp_path / "local"
