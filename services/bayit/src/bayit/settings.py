"""Service settings, read from the environment under their production names, validated at start-up."""

from __future__ import annotations

import logging
import re
import secrets
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from bayit.db import Database
    from bayit.ratelimit import LoginPolicy

log = logging.getLogger("bayit.settings")

MIN_SECRET_KEY_LENGTH = 32
_WEAK_SECRET_WORDS = (
    "secret",
    "changeme",
    "change-me",
    "change_me",
    "password",
    "your-secret-key",
    "your_secret_key",
    "dev-secret",
    "development",
    "insecure",
    "default",
    "example",
    "12345",
    "qwerty",
    "django-insecure",
)


class Environment(StrEnum):
    development = "development"
    staging = "staging"
    production = "production"


class StorageType(StrEnum):
    local = "local"
    gcs = "gcs"


class SettingsError(Exception):
    """Invalid configuration: one line per problem, never a secret value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def weak_secret_reason(value: str) -> str | None:
    """Why a signing key is unacceptable, or None when it is acceptable. Never includes the value."""
    if len(value) < MIN_SECRET_KEY_LENGTH:
        return f"must be at least {MIN_SECRET_KEY_LENGTH} characters"
    lowered = value.lower()
    if any(word in lowered for word in _WEAK_SECRET_WORDS):
        return "is a common or placeholder value; generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
    if len(set(value)) < 8:
        return "has too few distinct characters to be a random key"
    return None


class Settings(BaseSettings):
    """Bayit+ configuration. Field names are the environment variable names, case-insensitive."""

    model_config = SettingsConfigDict(env_file=None, case_sensitive=False, extra="ignore", frozen=True)

    APP_NAME: str = "Bayit+ API"
    API_V1_PREFIX: str = "/api/v1"
    ENVIRONMENT: Environment = Environment.development
    DEBUG: bool = False
    LOG_LEVEL: str = "INFO"
    SECRET_KEY: SecretStr | None = None
    SECRET_KEY_OLD: SecretStr | None = None
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=60, ge=1, le=60 * 24 * 30)
    DATABASE_URL: SecretStr = SecretStr("sqlite+aiosqlite:///bayit.db")
    STORAGE_TYPE: StorageType = StorageType.local
    GCS_BUCKET_NAME: str | None = None
    GCP_PROJECT_ID: str | None = None
    SENTRY_DSN: SecretStr | None = None
    SENTRY_ENVIRONMENT: str | None = None
    SENTRY_TRACES_SAMPLE_RATE: float = 0.0
    SENTRY_RELEASE: str | None = None
    MONGODB_URL: SecretStr | None = None
    MONGODB_DB_NAME: str = "bayit_plus"
    # Whether an unreachable MongoDB makes the instance unready. No Bayit+ request uses MongoDB (the service
    # keeps its data in SQL), so by default it is checked and reported, but optional.
    MONGODB_CRITICAL: bool = False
    # Browser origins allowed to call the API (comma-separated, e.g. https://bayit.tv,https://app.bayit.tv;
    # "*" for any origin, without credentials). Unset: no CORS headers, browsers keep to the same origin.
    CORS_ALLOW_ORIGINS: str | None = None
    OPENAI_API_KEY: SecretStr | None = None
    ELEVENLABS_API_KEY: SecretStr | None = None
    ANTHROPIC_API_KEY: SecretStr | None = None
    PINECONE_API_KEY: SecretStr | None = None
    PINECONE_INDEX_NAME: str | None = None
    STRIPE_SECRET_KEY: SecretStr | None = None
    PORT: int = Field(default=8080, ge=1, le=65535)
    # Bounds on every wait for the database, in seconds: a database that does not answer gives fast 503s.
    DATABASE_CONNECT_TIMEOUT: float = Field(default=2.0, gt=0, le=60)
    DATABASE_POOL_TIMEOUT: float = Field(default=2.0, gt=0, le=60)
    DATABASE_STATEMENT_TIMEOUT: float = Field(default=3.0, gt=0, le=300)
    DATABASE_POOL_SIZE: int = Field(default=20, ge=1, le=500)
    # Login backoff (bayit.ratelimit): failures allowed before waiting, and the longest wait, in seconds.
    LOGIN_ADDRESS_FREE_FAILURES: int = Field(default=5, ge=1, le=1000)
    LOGIN_ACCOUNT_FREE_FAILURES: int = Field(default=10, ge=1, le=1000)
    LOGIN_ADDRESS_MAX_DELAY: float = Field(default=900.0, ge=1, le=86_400)
    LOGIN_ACCOUNT_MAX_DELAY: float = Field(default=300.0, ge=1, le=86_400)
    # Request limits at the edge (413 / 431 / 408 before any handler runs).
    MAX_REQUEST_BODY_BYTES: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    MAX_REQUEST_HEADER_BYTES: int = Field(default=16_384, ge=1024, le=1_048_576)
    MAX_REQUEST_HEADERS: int = Field(default=100, ge=10, le=10_000)
    REQUEST_BODY_TIMEOUT: float = Field(default=10.0, gt=0, le=300)

    @field_validator("API_V1_PREFIX")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.startswith("/") or value.endswith("/") or " " in value:
            raise ValueError("must start with '/' and not end with '/', e.g. /api/v1")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: SecretStr) -> SecretStr:
        # Checked here so a typo stops the start with one line, not a driver traceback. Never echoes the URL.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        raw = value.get_secret_value().strip()
        if raw.startswith("postgres://"):
            raw = "postgresql://" + raw.removeprefix("postgres://")
        try:
            url = make_url(raw)
        except (ArgumentError, ValueError):
            raise ValueError(
                "not a database URL; expected postgresql://user:password@host:5432/name or sqlite:///path.db"
            ) from None
        backend, _, driver = url.drivername.partition("+")
        if backend not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported database {backend!r}; use postgresql:// or sqlite:///")
        if driver and driver not in ("asyncpg", "psycopg", "psycopg2", "aiosqlite", "pysqlite"):
            raise ValueError(f"unsupported driver {driver!r}; leave it out and the async driver is chosen")
        if backend == "postgresql" and not url.host and not dict(url.query).get("host"):
            raise ValueError("PostgreSQL URL has no host")
        if backend == "postgresql" and not url.database:
            raise ValueError("PostgreSQL URL names no database")
        if backend == "sqlite" and not url.database:
            raise ValueError("SQLite URL names no file (sqlite:///path.db)")
        return SecretStr(raw)

    @field_validator("SENTRY_DSN")
    @classmethod
    def _sentry_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        try:
            dsn = urlsplit(value.get_secret_value().strip())
            port = dsn.port
        except ValueError:
            raise ValueError("not a Sentry DSN; expected https://<public key>@<host>/<project id>") from None
        del port
        if dsn.scheme not in ("http", "https"):
            raise ValueError("must start with https:// (or http://)")
        if not dsn.username:
            raise ValueError("has no public key (https://<public key>@<host>/<project id>)")
        if not dsn.hostname:
            raise ValueError("has no host")
        if not dsn.path.rstrip("/").rsplit("/", 1)[-1].isdigit():
            raise ValueError("does not end with a numeric project id")
        return value

    @field_validator("CORS_ALLOW_ORIGINS")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for origin in (o.strip() for o in value.split(",")):
            if origin != "*" and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com (no path)")
        return value

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in (self.CORS_ALLOW_ORIGINS or "").split(",") if o.strip()]

    @field_validator("LOG_LEVEL")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("SENTRY_TRACES_SAMPLE_RATE")
    @classmethod
    def _rate(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError("must be between 0.0 and 1.0")
        return value

    @field_validator(
        "SECRET_KEY",
        "SECRET_KEY_OLD",
        "MONGODB_URL",
        "SENTRY_DSN",
        "OPENAI_API_KEY",
        "ELEVENLABS_API_KEY",
        "ANTHROPIC_API_KEY",
        "PINECONE_API_KEY",
        "STRIPE_SECRET_KEY",
        "GCS_BUCKET_NAME",
        "GCP_PROJECT_ID",
        "PINECONE_INDEX_NAME",
        "SENTRY_RELEASE",
        "SENTRY_ENVIRONMENT",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # An empty variable (common in CI templates and .env files) means "not configured".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        problems: list[str] = []
        if self.SECRET_KEY is None:
            if self.ENVIRONMENT is not Environment.development:
                problems.append(f"SECRET_KEY: required when ENVIRONMENT={self.ENVIRONMENT.value}")
        else:
            reason = weak_secret_reason(self.SECRET_KEY.get_secret_value())
            if reason:
                problems.append(f"SECRET_KEY: {reason}")
        if self.SECRET_KEY_OLD is not None:
            reason = weak_secret_reason(self.SECRET_KEY_OLD.get_secret_value())
            if reason:
                problems.append(f"SECRET_KEY_OLD: {reason}")
        if self.STORAGE_TYPE is StorageType.gcs and not self.GCS_BUCKET_NAME:
            problems.append(
                "GCS_BUCKET_NAME: required when STORAGE_TYPE=gcs (refusing to start without storage)"
            )
        if self.PINECONE_API_KEY is not None and not self.PINECONE_INDEX_NAME:
            problems.append("PINECONE_INDEX_NAME: required when PINECONE_API_KEY is set")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @cached_property
    def signing_key(self) -> str:
        """The key that signs tokens. In development without SECRET_KEY a random key is made (tokens then do
        not survive a restart); that case is logged as a warning at start-up."""
        if self.SECRET_KEY is not None:
            return self.SECRET_KEY.get_secret_value()
        return secrets.token_urlsafe(48)

    @property
    def verification_keys(self) -> tuple[str, ...]:
        """Keys that verify tokens: the current one, then SECRET_KEY_OLD during a key rotation."""
        keys = [self.signing_key]
        if self.SECRET_KEY_OLD is not None:
            keys.append(self.SECRET_KEY_OLD.get_secret_value())
        return tuple(keys)

    @property
    def database_url(self) -> str:
        return self.DATABASE_URL.get_secret_value()

    def database(self) -> Database:
        """The service's database with the configured pool and timeouts."""
        from bayit.db import Database

        return Database(
            self.database_url,
            pool_size=self.DATABASE_POOL_SIZE,
            pool_timeout=self.DATABASE_POOL_TIMEOUT,
            connect_timeout=self.DATABASE_CONNECT_TIMEOUT,
            statement_timeout=self.DATABASE_STATEMENT_TIMEOUT,
        )

    def login_policy(self) -> LoginPolicy:
        from bayit.ratelimit import LoginPolicy

        return LoginPolicy(
            address_free_failures=self.LOGIN_ADDRESS_FREE_FAILURES,
            account_free_failures=self.LOGIN_ACCOUNT_FREE_FAILURES,
            address_max_delay=self.LOGIN_ADDRESS_MAX_DELAY,
            account_max_delay=self.LOGIN_ACCOUNT_MAX_DELAY,
        )

    @property
    def is_production(self) -> bool:
        return self.ENVIRONMENT is Environment.production


def _problem_lines(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if not field:  # model-level checks already carry "NAME: message" lines
            lines.extend(message.splitlines())
            continue
        if err["type"] in (
            "bool_parsing",
            "int_parsing",
            "float_parsing",
            "enum",
            "less_than_equal",
            "greater_than_equal",
        ):
            message = message.split(", input")[0]
        lines.append(f"{field}: {message}")
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; raise SettingsError with one line per problem.

    Cross-field checks only run on valid fields, so when some fields are invalid they are validated once more
    with those fields at their defaults: the user learns every problem from one start attempt."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = _problem_lines(exc)
        bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if bad:
            defaults = {
                name: Settings.model_fields[name].default for name in bad if name in Settings.model_fields
            }
            try:
                Settings(**{**overrides, **defaults})
            except ValidationError as second:
                problems += [p for p in _problem_lines(second) if p not in problems]
        raise SettingsError(problems) from None
