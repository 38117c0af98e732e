"""Redis check: ``PING`` through redis-py's asyncio client."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keel.health.base import BaseCheck, Observation, Outcome
from keel.health.checks.clients import require
from keel.health.sanitize import url_secrets


class RedisCheck(BaseCheck):
    """``PING`` on one pooled client; connect and socket timeouts follow the check's budget."""

    kind = "redis"

    component_type = "datastore"

    def __init__(self, url: str, *, name: str = "redis", socket_timeout: float = 2.0) -> None:
        require("redis", check="redis", extra="redis")
        self.name = name
        self.url = url
        self.socket_timeout = socket_timeout
        self._client: Any = None

    async def probe(self) -> Observation:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(
                self.url,
                socket_timeout=self.socket_timeout,
                socket_connect_timeout=self.socket_timeout,
                retry_on_timeout=False,
            )
        answer = await self._client.ping()
        if answer is True:
            return Observation(Outcome.OK, "PONG")
        return Observation(Outcome.FAILED, "unexpected answer to PING")

    def secrets(self) -> Iterable[str]:
        return url_secrets(self.url)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
