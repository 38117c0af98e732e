"""The Cloud Run platform's settings in keel.yaml (``platform: cloudrun``), validated before anything runs."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from keel.durations import Duration
from keel.platforms.config import PlatformConfig

#: What a service may declare it uses (``uses: [gcs]``) -> the variables it cannot start without.
USES_REQUIRE: dict[str, tuple[str, ...]] = {"gcs": ("GCS_BUCKET_NAME",)}

#: Environment variable through which the service learns which optional dependencies are absent on purpose
#: (Bayit+ reads HEALTH_OPTIONAL_UNCONFIGURED: its deep health then reports them "not configured").
OPTIONAL_UNCONFIGURED_ENV = "HEALTH_OPTIONAL_UNCONFIGURED"

EMULATOR_HOST_ENV = "CLOUD_RUN_EMULATOR_HOST"

_SERVICE = re.compile(r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET = re.compile(
    r"^(?P<secret>[A-Za-z0-9_-]{1,255}|projects/[^/]+/secrets/[A-Za-z0-9_-]+):(?P<version>latest|[1-9][0-9]*)$"
)
_MEMORY = re.compile(r"^[1-9][0-9]*(Mi|Gi)$")
_CPU = re.compile(r"^([1-9][0-9]*|[1-9][0-9]*000m|[0-9]*\.[0-9]+)$")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, without port) is this machine."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """``host:port`` or ``http(s)://host:port`` -> (scheme, host:port); a bare host:port is HTTP only when
    it is loopback (an emulator), HTTPS otherwise."""
    if "://" in endpoint:
        scheme, _, rest = endpoint.partition("://")
        return scheme, rest.rstrip("/")
    host = endpoint.rsplit(":", 1)[0] if endpoint.count(":") == 1 or endpoint.startswith("[") else endpoint
    return ("http" if is_loopback(host) else "https"), endpoint.rstrip("/")


class CloudRunConfig(PlatformConfig):
    """A Cloud Run service (Admin API v2). Revisions run ``image``; ``env`` and ``secrets`` (Secret Manager
    references ``SECRET_NAME:VERSION``) become the container's environment; ``uses: [gcs]`` declares media
    stored in GCS, so ``GCS_BUCKET_NAME`` must be set (in ``env`` or ``secrets``) or nothing is deployed."""

    platform: Literal["cloudrun"]
    project: str = Field(min_length=1)
    region: str = Field(min_length=1)
    service: str = Field(min_length=1)
    image: str | None = None
    secrets: dict[str, str] = Field(default_factory=dict)
    uses: tuple[Literal["gcs"], ...] = Field(default=(), validate_default=True)
    optional_unconfigured: tuple[str, ...] = ()

    def release_notes(self) -> tuple[str, ...]:
        if not self.optional_unconfigured:
            return ()
        names = ", ".join(self.optional_unconfigured)
        return (f"declared not configured in this environment (deep health reports them so): {names}",)

    require_staging_verification: bool = False
    cpu: str | None = None
    memory: str | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1000)
    min_instances: int | None = Field(default=None, ge=0, le=1000)
    max_instances: int | None = Field(default=None, ge=1, le=1000)
    service_account: str | None = None
    request_timeout: Duration | None = None
    container_port: int | None = Field(default=None, ge=1, le=65535)
    api_endpoint: str | None = None
    operation_timeout: Duration = 600.0
    call_timeout: Duration = 60.0
    retries: int = Field(default=5, ge=0, le=20)

    @field_validator("service")
    @classmethod
    def _service_name(cls, value: str) -> str:
        if not _SERVICE.match(value):
            raise ValueError(
                f"{value!r} is not a Cloud Run service name: 1-49 of a-z 0-9 -, starting with a letter, "
                "not ending with -"
            )
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if name == "PORT":
                raise ValueError("PORT is set by Cloud Run itself; use container_port")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_refs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if not _SECRET.match(ref):
                # The reference is a name, never a value; still, do not echo what might be a pasted secret.
                raise ValueError(
                    f"{name}: expected a Secret Manager reference SECRET_NAME:VERSION "
                    "(VERSION is 'latest' or a number), such as bayit-secret-key:latest"
                )
        return value

    @field_validator("uses")
    @classmethod
    def _uses_need(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        env: dict[str, str] = info.data.get("env") or {}
        secrets: dict[str, str] = info.data.get("secrets") or {}
        uses = set(value)
        if env.get("STORAGE_TYPE") == "gcs":
            uses.add("gcs")
        for use in sorted(uses):
            for key in USES_REQUIRE[use]:
                if not env.get(key) and key not in secrets:
                    raise ValueError(
                        f"{key}: this service stores media in GCS (uses: [{use}]) but {key} is set neither in "
                        "env nor in secrets; refusing to deploy a revision without its bucket"
                    )
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY.match(value):
            raise ValueError(f"{value!r}: expected a size such as 512Mi or 2Gi")
        return value

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str | None) -> str | None:
        if value is not None and not _CPU.match(value):
            raise ValueError(f"{value!r}: expected a CPU limit such as 1, 2, 1000m or 0.5")
        return value

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return value
        scheme, host = split_endpoint(value)
        if scheme not in ("http", "https") or not host:
            raise ValueError(f"{value!r}: expected host:port or an http(s):// URL")
        if scheme == "http" and not is_loopback(host.rsplit(":", 1)[0]):
            raise ValueError(f"{value!r}: plain http only to a loopback address (a local emulator)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CloudRunConfig:
        both = sorted(set(self.env) & set(self.secrets))
        if both:
            raise ValueError(f"{', '.join(both)}: set both in env and in secrets; keep one")
        if (
            self.min_instances is not None
            and self.max_instances is not None
            and self.min_instances > self.max_instances
        ):
            raise ValueError(
                f"min_instances ({self.min_instances}) exceeds max_instances ({self.max_instances})"
            )
        return self
