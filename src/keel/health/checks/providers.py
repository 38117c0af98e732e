"""Provider API checks through endpoints that are not billed; none of them ever runs on readiness."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from keel.health.base import Observation, Outcome
from keel.health.checks.http import HttpProbe, classify


class ProviderCheck(HttpProbe):
    """GET ``base_url + path`` with the API key in the provider's header; 401/403 is a config fault."""

    readiness_allowed = False  # paid third parties never gate traffic and are never polled by probes
    default_base_url = ""
    path = ""

    def __init__(
        self,
        api_key: str,
        *,
        name: str | None = None,
        base_url: str | None = None,
        request_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(request_timeout=request_timeout, transport=transport)
        self.name = name or self.kind
        self.api_key = api_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    def auth_headers(self) -> dict[str, str]:  # pragma: no cover - every provider overrides it
        raise NotImplementedError

    async def probe(self) -> Observation:
        response = await self.client.get(self.base_url + self.path, headers=self.auth_headers())
        observation = classify(response.status_code)
        if observation.outcome is Outcome.OK:
            return self.inspect(response)
        return observation

    def inspect(self, response: httpx.Response) -> Observation:
        return Observation(Outcome.OK, f"HTTP {response.status_code}")

    def secrets(self) -> Iterable[str]:
        return (self.api_key,)


class OpenAICheck(ProviderCheck):
    """OpenAI: list models (GET /v1/models), free of charge."""

    kind = "openai"

    default_base_url = "https://api.openai.com"
    path = "/v1/models"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


class ElevenLabsCheck(ProviderCheck):
    """ElevenLabs: the account's user record (GET /v1/user), free of charge."""

    kind = "elevenlabs"

    default_base_url = "https://api.elevenlabs.io"
    path = "/v1/user"

    def auth_headers(self) -> dict[str, str]:
        return {"xi-api-key": self.api_key}


class AnthropicCheck(ProviderCheck):
    """Anthropic: list models (GET /v1/models), free of charge."""

    kind = "anthropic"

    default_base_url = "https://api.anthropic.com"
    path = "/v1/models"

    def auth_headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key, "anthropic-version": "2023-06-01"}


class PineconeCheck(ProviderCheck):
    """Pinecone: list indexes (GET /indexes) and, when an index is named, require it to exist."""

    kind = "pinecone"

    default_base_url = "https://api.pinecone.io"
    path = "/indexes"

    def __init__(
        self,
        api_key: str,
        *,
        index_name: str | None = None,
        name: str | None = None,
        base_url: str | None = None,
        request_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key, name=name, base_url=base_url, request_timeout=request_timeout, transport=transport
        )
        self.index_name = index_name

    def auth_headers(self) -> dict[str, str]:
        return {"Api-Key": self.api_key, "X-Pinecone-API-Version": "2025-04"}

    def inspect(self, response: httpx.Response) -> Observation:
        if not self.index_name:
            return Observation(Outcome.OK, f"HTTP {response.status_code}")
        try:
            names = {str(index.get("name")) for index in response.json().get("indexes", [])}
        except (ValueError, AttributeError, TypeError):
            return Observation(Outcome.FAILED, "index list response is not the documented JSON")
        if self.index_name not in names:
            return Observation(Outcome.MISCONFIGURED, f"index {self.index_name!r} not found")
        return Observation(Outcome.OK, f"index {self.index_name!r} listed")
