"""Bayit+ health wiring: which dependencies are checked, which are critical, built from the settings."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.types import ASGIApp, Receive, Scope, Send

from bayit import __version__
from bayit.envelope import request_correlation_id, send_error
from bayit.settings import Environment, Settings, StorageType
from keel.health import (
    AnthropicCheck,
    Check,
    DetailsAccess,
    ElevenLabsCheck,
    GcsCheck,
    Health,
    HealthConfig,
    HealthConfigError,
    HealthMiddleware,
    MongoCheck,
    NotConfigured,
    OpenAICheck,
    PineconeCheck,
    SentryConfigCheck,
    SqlCheck,
    health_metrics,
)
from keel.health.sanitize import url_secrets

log = logging.getLogger("bayit.health")

#: Dependencies an environment may declare absent (HEALTH_OPTIONAL_UNCONFIGURED).
OPTIONAL_DEPENDENCIES = ("openai", "elevenlabs", "anthropic", "pinecone", "sentry")

#: What each environment declares may be absent when HEALTH_OPTIONAL_UNCONFIGURED is not set. Staging is the
#: documented one (keel.yaml: optional_unconfigured: [openai, elevenlabs, anthropic, pinecone]).
DEFAULT_OPTIONAL_UNCONFIGURED: dict[Environment, frozenset[str]] = {
    Environment.development: frozenset(OPTIONAL_DEPENDENCIES),
    Environment.staging: frozenset({"openai", "elevenlabs", "anthropic", "pinecone"}),
    Environment.production: frozenset(),
}


class HealthSettings(BaseSettings):
    """The health endpoints' own environment variables (HEALTH_*)."""

    model_config = SettingsConfigDict(env_file=None, case_sensitive=False, extra="ignore", frozen=True)

    HEALTH_CHECK_TOKEN: SecretStr | None = None
    HEALTH_TOKEN_HEADER: str = "X-Health-Token"
    HEALTH_OPTIONAL_UNCONFIGURED: str | None = None  # comma-separated; "none" declares nothing optional
    HEALTH_READY_TTL: float = Field(default=1.0, gt=0)
    HEALTH_DEEP_TTL: float = Field(default=15.0, gt=0)
    HEALTH_READY_DEADLINE: float = Field(default=4.0, gt=0)
    HEALTH_DEEP_DEADLINE: float = Field(default=8.0, gt=0)
    # Provider endpoints (proxies, regional endpoints, test servers); None: the provider's public API.
    OPENAI_BASE_URL: str | None = None
    ELEVENLABS_BASE_URL: str | None = None
    ANTHROPIC_BASE_URL: str | None = None
    PINECONE_BASE_URL: str | None = None

    @field_validator("HEALTH_CHECK_TOKEN", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def optional_unconfigured(self, environment: Environment) -> frozenset[str]:
        raw = self.HEALTH_OPTIONAL_UNCONFIGURED
        if raw is None:
            return DEFAULT_OPTIONAL_UNCONFIGURED[environment]
        names = {n.strip().lower() for n in raw.split(",") if n.strip()} - {"none"}
        unknown = sorted(names - set(OPTIONAL_DEPENDENCIES))
        if unknown:
            raise HealthConfigError(
                f"HEALTH_OPTIONAL_UNCONFIGURED: unknown dependency {', '.join(unknown)}; "
                f"known: {', '.join(OPTIONAL_DEPENDENCIES)}"
            )
        return frozenset(names)


def load_health_settings(**overrides: Any) -> HealthSettings:
    try:
        return HealthSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise HealthConfigError(f"{field}: {first['msg']}") from None


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def settings_secrets(settings: Settings, health_settings: HealthSettings) -> set[str]:
    """Every secret value the service holds, and the credential and host parts of every URL among them."""
    found: set[str] = set()
    for model in (settings, health_settings):
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                found.add(raw)
                if "://" in raw:
                    found |= url_secrets(raw)
    return {s for s in found if s}


def build_health(settings: Settings, engine: Any, health_settings: HealthSettings | None = None) -> Health:
    """The Bayit+ checks: database critical; MongoDB checked when configured, critical with MONGODB_CRITICAL; GCS critical when storage is
    GCS; AI APIs, Pinecone and Sentry optional (and disabled when the environment declares them absent)."""
    hs = health_settings or load_health_settings()
    optional = hs.optional_unconfigured(settings.ENVIRONMENT)
    token = _secret(hs.HEALTH_CHECK_TOKEN)
    config = HealthConfig(
        app=settings.APP_NAME,
        version=__version__,
        ready_ttl=hs.HEALTH_READY_TTL,
        deep_ttl=hs.HEALTH_DEEP_TTL,
        ready_deadline=hs.HEALTH_READY_DEADLINE,
        deep_deadline=hs.HEALTH_DEEP_DEADLINE,
        access=DetailsAccess(
            token=token,
            header=hs.HEALTH_TOKEN_HEADER,
            public=settings.ENVIRONMENT is Environment.development,
        ),
    )
    health = Health(config, secrets=settings_secrets(settings, hs))
    health.add(SqlCheck(engine, name="database"), critical=True, timeout=2.0)

    mongo = _secret(settings.MONGODB_URL)
    if mongo:
        # critical only when configured so (MONGODB_CRITICAL): no Bayit+ request reads MongoDB
        mongo_check = MongoCheck(mongo, server_selection_timeout=2.0)
        health.add(mongo_check, critical=settings.MONGODB_CRITICAL, timeout=3.0)
    else:  # the service keeps its data in SQL; MongoDB is a dependency only when configured
        health.add(NotConfigured("mongodb", "MONGODB_URL is not set", component_type="datastore"))

    if settings.STORAGE_TYPE is StorageType.gcs:
        if not settings.GCS_BUCKET_NAME:  # Settings refuses this too; never serve without storage
            raise HealthConfigError("GCS_BUCKET_NAME: required when STORAGE_TYPE=gcs")
        gcs = GcsCheck(settings.GCS_BUCKET_NAME, project=settings.GCP_PROJECT_ID, request_timeout=3.0)
        health.add(gcs, critical=True, timeout=4.0)
    else:
        health.add(NotConfigured("gcs", "STORAGE_TYPE=local", component_type="datastore"))

    for check in _optional_checks(settings, hs, optional):
        health.add(check, timeout=5.0, failure_threshold=1)
    health.add_observer(health_metrics())
    return health


def _optional_checks(settings: Settings, hs: HealthSettings, optional: frozenset[str]) -> Iterable[Check]:
    providers: list[tuple[str, str, SecretStr | None]] = [
        ("openai", "OPENAI_API_KEY", settings.OPENAI_API_KEY),
        ("elevenlabs", "ELEVENLABS_API_KEY", settings.ELEVENLABS_API_KEY),
        ("anthropic", "ANTHROPIC_API_KEY", settings.ANTHROPIC_API_KEY),
        ("pinecone", "PINECONE_API_KEY", settings.PINECONE_API_KEY),
    ]
    for name, variable, key in providers:
        value = _secret(key)
        if not value:
            yield _absent(name, variable, optional, settings.ENVIRONMENT)
        elif name == "openai":
            yield OpenAICheck(value, base_url=hs.OPENAI_BASE_URL)
        elif name == "elevenlabs":
            yield ElevenLabsCheck(value, base_url=hs.ELEVENLABS_BASE_URL)
        elif name == "anthropic":
            yield AnthropicCheck(value, base_url=hs.ANTHROPIC_BASE_URL)
        else:
            yield PineconeCheck(value, index_name=settings.PINECONE_INDEX_NAME, base_url=hs.PINECONE_BASE_URL)
    dsn = _secret(settings.SENTRY_DSN)
    if dsn:
        yield SentryConfigCheck(dsn, traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE)
    else:
        yield _absent("sentry", "SENTRY_DSN", optional, settings.ENVIRONMENT)


def _absent(name: str, variable: str, optional: frozenset[str], environment: Environment) -> NotConfigured:
    if name in optional:
        return NotConfigured(name, f"{variable} is not set (declared optional in {environment.value})")
    return NotConfigured(name, f"{variable} is not set", allowed=False)


class HealthMethodGuard:
    """Outside the health middleware: other methods than GET and HEAD on the health paths get the API's 405
    (error envelope, correlation id, ``Allow``), like every other error response of the service."""

    def __init__(self, app: ASGIApp, paths: Iterable[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD") and scope["path"] in self.paths:
            cid = request_correlation_id(scope)
            message = f"method {scope['method']} not allowed on {scope['path']}; use GET or HEAD"
            await send_error(send, 405, message, headers={"Allow": "GET, HEAD"}, cid=cid)
            return
        await self.app(scope, receive, send)


def install(app: Any, settings: Settings, health_settings: HealthSettings | None = None) -> Health:
    """Embed the health endpoints in the Bayit+ app: outermost middleware, started when start-up is done."""
    health = build_health(settings, app.state.db.engine, health_settings)
    app.state.health = health
    app.state.lifecycle.on_started.append(health.mark_started)
    app.state.lifecycle.on_failed.append(health.mark_starting)
    app.add_middleware(HealthMiddleware, health=health)
    paths = health.config.paths
    app.add_middleware(
        HealthMethodGuard, paths=(paths.health, paths.live, paths.startup, paths.ready, paths.deep)
    )
    return health
