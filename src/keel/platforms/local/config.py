"""The local platform's settings in keel.yaml (``platform: local``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from keel.platforms.config import PlatformConfig


class LocalConfig(PlatformConfig):
    """Revisions run as supervised local processes behind keel's traffic router on ``port``."""

    platform: Literal["local"]
    run: tuple[str, ...] = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    host: str = "127.0.0.1"
    keep_revisions: int | None = Field(default=3, ge=2, le=20)
