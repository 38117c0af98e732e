"""The Cloud Run emulator's settings: which local command runs each image, secret values, metric delay."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from keel.durations import Duration
from keel.yamlfile import load_model


class EmulatorConfig(BaseModel):
    """``images`` maps a container image (as keel.yaml or ``--image`` names it) to the local command that
    stands for it; a revision of an unknown image fails to start, as on Cloud Run. ``secrets`` holds the
    values of Secret Manager references (``name`` or ``name:version``); references it does not hold are read
    from the Secret Manager at ``secret_manager`` (``host:port`` of a local one, default
    ``$SECRET_MANAGER_EMULATOR_HOST``): a missing, disabled or destroyed version keeps the revision from
    becoming ready, as on Cloud Run. Cloud Monitoring points become
    visible ``ingestion_delay`` after the second they describe."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    images: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    secret_manager: str | None = None
    ingestion_delay: Duration = 10.0
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    cwd: str | None = None
    state_dir: str | None = None
    probe_poll: Duration = 0.2

    @field_validator("secret_manager")
    @classmethod
    def _loopback(cls, value: str | None) -> str | None:
        from keel.platforms.cloudrun.config import is_loopback, split_endpoint

        if value:
            host = split_endpoint(value)[1]
            if not is_loopback(host.rsplit(":", 1)[0] if not host.endswith("]") else host):
                raise ValueError(
                    f"{value!r}: a local Secret Manager is read without credentials, on loopback only"
                )
        return value


def load_config(path: Path) -> EmulatorConfig:
    """The emulator's YAML file, validated; errors name the file, line and key."""
    return load_model(path, EmulatorConfig)
