"""The Bayit+ application factory: routes, error handling, observability and the start-up sequence."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp

from bayit import __version__, errors
from bayit.api import auth, content, index, live, users, watchlist
from bayit.db import Database
from bayit.edge import EdgeMiddleware, Limits
from bayit.faults import install as install_faults
from bayit.front import CatalogLane
from bayit.health import install as install_health
from bayit.health import load_health_settings, settings_secrets
from bayit.migrate import upgrade
from bayit.observability import ObservabilityMiddleware, Observer, metrics_endpoint
from bayit.ratelimit import LoginGuard
from bayit.seed import seed
from bayit.sentry import init_sentry
from bayit.settings import Settings, load_settings

log = logging.getLogger("bayit.app")


class Lifecycle:
    """Start-up work (migrations, seeding) runs after the server starts listening, so orchestrators can see
    it progress on the startup probe; ``started`` is set when it is done, ``failure`` says why it is not."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.failure: str | None = None
        self.on_started: list[Callable[[], None]] = []
        self.on_failed: list[Callable[[str], None]] = []

    def mark_started(self) -> None:
        self.started.set()
        for callback in self.on_started:
            callback()


async def _start_up(app: FastAPI, *, migrate: bool, seed_catalog: bool, max_backoff: float = 10.0) -> None:
    """Migrate and seed, retrying with backoff: a database that is down at boot delays readiness, and the
    instance becomes ready by itself once the database is back (the startup probe shows why meanwhile)."""
    lifecycle: Lifecycle = app.state.lifecycle
    db: Database = app.state.db
    delay = 0.5
    while True:
        try:
            if migrate:
                await upgrade(db.engine)
            if seed_catalog:
                added = await seed(db)
                if added:
                    log.info("seeded sample catalog", extra={"items": added})
            break
        except Exception as exc:
            lifecycle.failure = f"start-up failed: {type(exc).__name__}; retrying"
            log.error("start-up failed", extra={"error_type": type(exc).__name__, "retry_in_s": delay})
            for callback in lifecycle.on_failed:
                callback(lifecycle.failure)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)
    lifecycle.failure = None
    log.info("start-up complete")
    lifecycle.mark_started()


class BayitApp(FastAPI):
    """FastAPI with one layer in front of its whole middleware stack (``bayit.front``), when set."""

    front: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return self.front(stack) if self.front is not None else stack


def create_app(
    settings: Settings | None = None,
    *,
    migrate: bool = True,
    seed_catalog: bool = False,
    instrument: bool = True,
) -> FastAPI:
    """Build the service. ``instrument=False`` leaves out the logging/metrics middleware (for benchmarks)."""
    settings = settings or load_settings()
    lifecycle = Lifecycle()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.SECRET_KEY is None:
            log.warning("SECRET_KEY not set: using a random key for this process (development only)")
        task = asyncio.create_task(_start_up(app, migrate=migrate, seed_catalog=seed_catalog))
        try:
            yield
        finally:
            if not task.done():
                task.cancel()
            await app.state.db.dispose()
            log.info("database pool closed")

    app = BayitApp(
        title=settings.APP_NAME,
        version=__version__,
        description="The Bayit+ media backend: catalog, live channels, users and watchlists.",
        lifespan=lifespan,
        debug=False,
    )
    app.state.settings = settings
    app.state.db = settings.database()
    app.state.lifecycle = lifecycle
    app.state.login_guard = LoginGuard(settings.login_policy())
    errors.install(app)
    prefix = settings.API_V1_PREFIX
    for module in (index, content, live, auth, users, watchlist):
        app.include_router(module.router, prefix=prefix)
    # the catalog's fast route first: FastAPI's route stays for the OpenAPI document (and behind it)
    app.router.routes.insert(
        0,
        content.CatalogRoute(
            f"{prefix}/content", content.fast_list_content, methods=["GET"], include_in_schema=False
        ),
    )
    app.add_api_route("/", index.index, include_in_schema=False)
    app.router.routes.append(Route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False))
    # Inside the metrics: an injected 500 or delay is counted like a real one, so alert rules can see it.
    faults = install_faults(app, settings)  # off unless BAYIT_FAULT_* is set; refused in production
    app.state.instrumented = instrument
    limits = Limits(
        max_body_bytes=settings.MAX_REQUEST_BODY_BYTES,
        max_header_bytes=settings.MAX_REQUEST_HEADER_BYTES,
        max_headers=settings.MAX_REQUEST_HEADERS,
        body_timeout=settings.REQUEST_BODY_TIMEOUT,
    )
    app.add_middleware(EdgeMiddleware, limits=limits)  # inside observability: limits are logged and counted
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Correlation-ID"],
            expose_headers=["X-Correlation-ID", "Retry-After"],
            allow_credentials=False,  # bearer tokens travel in a header, never in cookies
            max_age=600,
        )
    observer = Observer() if instrument else None
    if observer is not None:
        app.add_middleware(ObservabilityMiddleware, observer=observer)
    install_health(app, settings)  # outermost: probes answer without the app's middleware or routing
    if not faults.active:  # the catalog's fast lane, in front of it all (injected faults live in the stack)
        app.front = partial(
            CatalogLane,
            path=f"{prefix}/content",
            db=app.state.db,
            limits=limits,
            observer=observer,
            handlers=app.exception_handlers,
            cors=bool(settings.cors_origins),
        )
    if settings.SENTRY_DSN is not None:
        init_sentry(
            settings.SENTRY_DSN.get_secret_value(),
            environment=settings.SENTRY_ENVIRONMENT or settings.ENVIRONMENT.value,
            release=settings.SENTRY_RELEASE,
            traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
            secrets=settings_secrets(settings, load_health_settings()),
        )
    return app
