"""Google Cloud Run (Admin API v2): settings model; the adapter lands with the Cloud Run issue."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from keel.errors import ConfigError
from keel.platforms.base import Platform
from keel.platforms.config import PlatformConfig, PlatformContext


class CloudRunConfig(PlatformConfig):
    """A Cloud Run service."""

    platform: Literal["cloudrun"]
    project: str = Field(min_length=1)
    region: str = Field(min_length=1)
    service: str = Field(min_length=1)
    image: str | None = None
    optional_unconfigured: tuple[str, ...] = ()
    require_staging_verification: bool = False


class CloudRunPlatform:
    Config: ClassVar[type[PlatformConfig]] = CloudRunConfig

    @classmethod
    def from_config(cls, config: PlatformConfig, context: PlatformContext) -> Platform:
        raise ConfigError(f"environment {context.environment!r}: platform cloudrun is not available yet")
