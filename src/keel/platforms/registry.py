"""Platform names from keel.yaml -> implementations; unknown names are refused."""

from __future__ import annotations

from keel.platforms.base import Platform
from keel.platforms.config import PlatformAdapter, PlatformConfig, PlatformContext
from keel.plugins import Registry

PLATFORMS: Registry[type[PlatformAdapter]] = Registry(
    "platform",
    {
        "local": "keel.platforms.local:LocalPlatform",
        "cloudrun": "keel.platforms.cloudrun:CloudRunPlatform",
        "memory": "keel.platforms.memory:MemoryPlatform",
    },
)


def create_platform(config: PlatformConfig, context: PlatformContext) -> Platform:
    """The platform of one environment, built from its settings in keel.yaml."""
    return PLATFORMS.load(config.platform).from_config(config, context)
