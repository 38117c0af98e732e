"""uvicorn factories for the Bayit+ benchmark: the service with and without its observability middleware."""

from __future__ import annotations

from fastapi import FastAPI

from bayit.app import create_app
from bayit.observability import configure_logging
from bayit.settings import load_settings


def instrumented() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.LOG_LEVEL)
    return create_app(settings, migrate=False)


def bare() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.LOG_LEVEL)
    return create_app(settings, migrate=False, instrument=False)
