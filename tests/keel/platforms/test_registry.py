"""Platform names map to implementations; unknown names are refused with the known ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.errors import ConfigError
from keel.platforms.config import PlatformContext
from keel.platforms.local import LocalPlatform
from keel.platforms.local.config import LocalConfig
from keel.platforms.memory import MemoryPlatform
from keel.platforms.registry import PLATFORMS, create_platform


def test_known_and_unknown_names() -> None:
    assert PLATFORMS.load("memory") is MemoryPlatform
    assert PLATFORMS.load("local") is LocalPlatform
    with pytest.raises(ConfigError, match=r"unknown platform 'k8s' \(known: cloudrun, local, memory\)"):
        PLATFORMS.load("k8s")


def test_every_platform_owns_its_settings_model() -> None:
    for name, model in PLATFORMS.config_models().items():
        assert model.model_fields["platform"].annotation is not None
        assert model.model_validate  # a pydantic model
        assert name in str(model.model_fields["platform"].annotation)


def test_local_environment_becomes_a_local_platform(tmp_path: Path) -> None:
    env = LocalConfig(platform="local", run=("bayit", "serve"), port=8123, env={"A": "1"})
    platform = create_platform(env, PlatformContext("svc", "local", tmp_path))
    assert isinstance(platform, LocalPlatform)
    assert platform.port == 8123 and platform.command == ("bayit", "serve") and platform.env == {"A": "1"}
    assert platform.state.path == tmp_path / "local"
