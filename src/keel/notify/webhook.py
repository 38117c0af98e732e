"""A generic webhook: POST the event as JSON to a URL read from an environment variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from keel.notify.base import Event
from keel.notify.errors import NotifierConfigError, NotifyError


class WebhookConfig(BaseModel):
    """The URL itself may carry a token, so the spec names only the variable that holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    headers_env: dict[str, str] = Field(default_factory=dict)


def resolve_url(env_name: str, channel: str, environ: Mapping[str, str]) -> str:
    url = environ.get(env_name, "")
    if not url:
        raise NotifierConfigError(f"notify.{channel}: environment variable {env_name} is not set")
    if not url.startswith(("http://", "https://")):
        raise NotifierConfigError(f"notify.{channel}: {env_name} does not hold an http(s) URL")
    return url


class HttpPoster:
    """Shared by the HTTP notifiers: one client, errors that name the channel and never the URL."""

    name = "http"

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout: float = 3.0) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout, headers=dict(headers or {}))

    async def post(self, payload: dict[str, Any]) -> None:
        try:
            response = await self._client.post(self._url, json=payload)
        except httpx.HTTPError as exc:
            raise NotifyError(f"{self.name}: delivery failed: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise NotifyError(f"{self.name}: delivery refused with HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()


class WebhookNotifier(HttpPoster):
    name = "webhook"
    Config = WebhookConfig

    def __init__(
        self, config: dict[str, Any], environ: Mapping[str, str] | None = None, timeout: float = 3.0
    ) -> None:
        cfg = WebhookConfig.model_validate(config)
        env = os.environ if environ is None else environ
        headers = {header: env.get(var, "") for header, var in cfg.headers_env.items()}
        super().__init__(resolve_url(cfg.url_env, self.name, env), headers, timeout)

    async def send(self, event: Event) -> None:
        await self.post({"source": "keel", **event.to_json()})
