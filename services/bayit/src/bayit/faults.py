"""Fault switches for demos and release tests: errors, latency, a crash at start, an auth bypass.

All are off by default and read from the environment at start-up:

    BAYIT_FAULT_ERROR_RATE       share of API requests answered 500 (0-1), spread evenly: 0.05 fails every
                                 20th request, so a handful of smoke checks pass and sustained traffic does not
    BAYIT_FAULT_LATENCY_MS       milliseconds added to every API request
    BAYIT_FAULT_CRASH_AT_START   1: start-up fails and the process exits (uvicorn exit code 3)
    BAYIT_FAULT_AUTH_BYPASS      1: GET /users/me answers 200 without a token (a broken auth check)

Health endpoints and /metrics are never faulted (so a faulty revision passes its health gate and is caught
by the smoke gate or by canary analysis, as in real incidents). With ENVIRONMENT=production the service
refuses to start when any switch is set.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bayit.settings import Settings, SettingsError

ENV_PREFIX = "BAYIT_FAULT_"


class FaultConfigError(SettingsError):
    """A fault switch is malformed, or set where faults are forbidden (production)."""


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Faults:
    error_rate: float = 0.0
    latency_ms: float = 0.0
    crash_at_start: bool = False
    auth_bypass: bool = False

    @property
    def active(self) -> bool:
        return self != Faults()

    def describe(self) -> str:
        parts = []
        if self.error_rate:
            parts.append(f"error rate {self.error_rate:g}")
        if self.latency_ms:
            parts.append(f"+{self.latency_ms:g} ms")
        if self.crash_at_start:
            parts.append("crash at start")
        if self.auth_bypass:
            parts.append("auth bypass on /users/me")
        return ", ".join(parts) or "none"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Faults:
        env = os.environ if environ is None else environ
        problems: list[str] = []
        known = {"ERROR_RATE", "LATENCY_MS", "CRASH_AT_START", "AUTH_BYPASS"}
        for key in env:
            if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :] not in known:
                problems.append(f"{key}: unknown fault switch (known: {', '.join(sorted(known))})")

        def number(name: str, low: float, high: float) -> float:
            raw = env.get(ENV_PREFIX + name, "").strip()
            if not raw:
                return 0.0
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{ENV_PREFIX}{name}: expected a number")
                return 0.0
            if not low <= value <= high:
                problems.append(f"{ENV_PREFIX}{name}: must be between {low:g} and {high:g}")
                return 0.0
            return value

        faults = cls(
            error_rate=number("ERROR_RATE", 0.0, 1.0),
            latency_ms=number("LATENCY_MS", 0.0, 60_000.0),
            crash_at_start=_flag(env.get(ENV_PREFIX + "CRASH_AT_START", "")),
            auth_bypass=_flag(env.get(ENV_PREFIX + "AUTH_BYPASS", "")),
        )
        if problems:
            raise FaultConfigError(problems)
        return faults


class _EvenErrors:
    """Fails request n when floor(n * rate) steps up: exactly ``rate`` of requests, evenly spread."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._count = 0
        self._lock = threading.Lock()

    def next_fails(self) -> bool:
        with self._lock:
            self._count += 1
            n = self._count
        return int(n * self._rate) != int((n - 1) * self._rate)


class FaultMiddleware:
    """Pure ASGI: applies the switches to API requests, and fails the lifespan start-up on crash_at_start."""

    def __init__(self, app: Any, faults: Faults, api_prefix: str) -> None:
        self.app = app
        self.faults = faults
        self.prefix = api_prefix.rstrip("/")
        self._errors = _EvenErrors(faults.error_rate)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and self.faults.crash_at_start:
            await self._crash(receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] != "http" or (not path.startswith(self.prefix + "/") and path != self.prefix):
            await self.app(scope, receive, send)
            return
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000.0)
        if self.faults.auth_bypass and path == f"{self.prefix}/users/me" and not _has_auth(scope):
            await _json(send, 200, {"id": 0, "email": "anonymous@fault.invalid", "display_name": "anonymous"})
            return
        if self.faults.error_rate and self._errors.next_fails():
            await _json(send, 500, {"detail": "injected fault (BAYIT_FAULT_ERROR_RATE)"})
            return
        await self.app(scope, receive, send)

    async def _crash(self, receive: Any, send: Any) -> None:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send(
                {"type": "lifespan.startup.failed", "message": "injected fault: BAYIT_FAULT_CRASH_AT_START"}
            )


def _has_auth(scope: Any) -> bool:
    return any(name.lower() == b"authorization" for name, _ in scope.get("headers", []))


async def _json(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def install(app: Any, settings: Settings, environ: Mapping[str, str] | None = None) -> Faults:
    """Read the switches; refuse any in production; add the middleware only when a switch is on."""
    faults = Faults.from_env(environ)
    if not faults.active:
        return faults
    if settings.ENVIRONMENT.value == "production":
        raise FaultConfigError(
            [f"fault switches are set ({faults.describe()}) but ENVIRONMENT=production: refusing to start"]
        )
    app.add_middleware(FaultMiddleware, faults=faults, api_prefix=settings.API_V1_PREFIX)
    return faults
