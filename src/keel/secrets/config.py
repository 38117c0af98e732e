"""keel.yaml's ``secrets:`` section: the backend, the environment they are delivered to, and each secret's
type, variable and schedule. Names only: values never appear in keel.yaml."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from keel.durations import Duration

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretType(StrEnum):
    JWT = "jwt"  # a signing key: dual-key rotation with a grace window
    DATABASE = "database"  # a PostgreSQL login role and its URL
    OPENAI = "openai"
    ELEVENLABS = "elevenlabs"
    ANTHROPIC = "anthropic"
    PINECONE = "pinecone"
    STRIPE = "stripe"
    SENTRY_DSN = "sentry_dsn"
    API_KEY = "api_key"  # any other provider's key

    @property
    def provided(self) -> bool:
        """The new value comes from the operator (a provider issues it), not from keel."""
        return self not in (SecretType.JWT, SecretType.DATABASE)


class LocalBackendConfig(Model):
    """The embedded default: an encrypted file (``path``, default ``.keel/secrets.json``) and its key
    (``$KEEL_SECRETS_KEY``, or ``key_file``, default ``~/.config/keel/keys/<service>.key``, made 0600)."""

    type: Literal["local"] = "local"
    path: str | None = None
    key_file: str | None = None


class GcpBackendConfig(Model):
    """Google Secret Manager in ``project``; ``endpoint`` (or ``$SECRET_MANAGER_EMULATOR_HOST``) reaches a
    local server speaking its API, anonymously on loopback addresses only."""

    type: Literal["gcp"]
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    endpoint: str | None = None


BackendConfig = Annotated[Union[LocalBackendConfig, GcpBackendConfig], Field(discriminator="type")]  # noqa: UP007


class SecretItem(Model):
    """One secret: ``type``, the variable ``env`` the service reads it from, the backend's secret ``id``
    (default: the item's name), ``every`` (rotation schedule). jwt: ``previous_env`` carries the old key for
    ``grace`` after a rotation. database: ``admin_env`` names the variable holding a URL whose role may create
    roles; new login roles are members of ``role``."""

    type: SecretType
    env: str = Field(pattern=ENV_NAME)
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,255}$")
    every: Duration | None = None
    previous_env: str | None = Field(default=None, pattern=ENV_NAME)
    grace: Duration = 86400.0
    length: int = Field(default=48, ge=32, le=512)
    admin_env: str | None = Field(default=None, pattern=ENV_NAME)
    role: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,40}$")

    @model_validator(mode="after")
    def _per_type(self) -> SecretItem:
        if self.type is SecretType.JWT and self.previous_env is None:
            raise ValueError(
                "a jwt secret needs previous_env: the variable that carries the old key during the grace "
                "window (Bayit+: SECRET_KEY_OLD)"
            )
        if self.type is not SecretType.JWT and self.previous_env is not None:
            raise ValueError("previous_env is for jwt secrets only")
        if self.type is SecretType.DATABASE and (self.admin_env is None or self.role is None):
            raise ValueError(
                "a database secret needs admin_env (the variable holding an admin URL that may create roles) "
                "and role (the group role whose privileges the new login roles get)"
            )
        if self.previous_env == self.env:
            raise ValueError("previous_env must differ from env")
        return self

    def secret_id(self, name: str) -> str:
        return self.id or name


class SecretsSpec(Model):
    """``backend``; ``environment``: where secrets are delivered and rotations release (default: the only
    environment); ``verify``: the health path a rotation checks on the released revision; ``items``."""

    backend: BackendConfig = LocalBackendConfig()
    environment: str | None = None
    verify: str = Field(default="/health/deep", pattern=r"^/")
    items: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")], SecretItem] = Field(
        default_factory=dict
    )
