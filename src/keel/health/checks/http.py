"""HTTP checks: a generic GET of any URL, and the base of checks against provider APIs with keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import httpx

from keel.health.base import BaseCheck, Observation, Outcome
from keel.health.sanitize import url_secrets


def classify(status_code: int, *, accepted: range = range(200, 300)) -> Observation:
    """Map an HTTP status to an outcome: 401/403 is a configuration fault, 429 only degrades."""
    if status_code in accepted:
        return Observation(Outcome.OK, f"HTTP {status_code}")
    if status_code in (401, 403):
        return Observation(
            Outcome.MISCONFIGURED, f"credentials rejected (HTTP {status_code}): configuration fault"
        )
    if status_code == 429:
        return Observation(Outcome.DEGRADED, "rate limited (HTTP 429)")
    return Observation(Outcome.FAILED, f"unexpected HTTP {status_code}")


class HttpProbe(BaseCheck):
    """Shared client handling: one pooled httpx client per check, created on first use."""

    component_type = "component"

    def __init__(
        self, *, request_timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._request_timeout = request_timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._request_timeout, transport=self._transport, follow_redirects=False
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


class HttpCheck(HttpProbe):
    """GET a URL; healthy when the status is in ``accepted`` (default 2xx and 3xx)."""

    kind = "http"

    def __init__(
        self,
        url: str,
        *,
        name: str = "http",
        accepted: range = range(200, 400),
        headers: Mapping[str, str] | None = None,
        component_type: str = "component",
        request_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(request_timeout=request_timeout, transport=transport)
        self.name = name
        self.url = url
        self.accepted = accepted
        self.headers = dict(headers or {})
        self.component_type = component_type

    async def probe(self) -> Observation:
        response = await self.client.get(self.url, headers=self.headers)
        return classify(response.status_code, accepted=self.accepted)

    def secrets(self) -> Iterable[str]:
        found = url_secrets(self.url)
        for value in self.headers.values():  # "Bearer <token>": the whole value and the token alone
            found |= {value, value.split()[-1]} if value.strip() else set()
        return found
