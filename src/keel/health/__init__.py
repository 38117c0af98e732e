"""Liveness, readiness, startup and deep dependency health checks for ASGI services."""
