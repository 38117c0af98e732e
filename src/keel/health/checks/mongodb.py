"""MongoDB check through PyMongo's async client: ``ping`` with an explicit server-selection timeout."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keel.health.base import BaseCheck, Observation, Outcome
from keel.health.checks.clients import require
from keel.health.sanitize import url_secrets


def _reason(text: str) -> str:
    lowered = text.lower()
    # Specific socket errors first: every message also mentions the configured timeouts.
    for needle, reason in (
        ("refused", "connection refused"),
        ("connect call failed", "connection refused"),
        ("no such file", "unreachable"),
        ("unreachable", "unreachable"),
        ("name or service not known", "host name does not resolve"),
        ("nodename nor servname", "host name does not resolve"),
        ("timed out", "timed out"),
        ("no servers found yet", "timed out"),  # connected, but the handshake never got an answer
    ):
        if needle in lowered:
            return reason
    return "no server available"


class MongoCheck(BaseCheck):
    """``admin.command('ping')`` on one long-lived async client."""

    kind = "mongodb"

    component_type = "datastore"

    def __init__(self, url: str, *, name: str = "mongodb", server_selection_timeout: float = 2.0) -> None:
        require("pymongo", check="mongodb", extra="mongodb")
        self.name = name
        self.url = url
        self.server_selection_timeout = server_selection_timeout
        self._client: Any = None

    def _make_client(self) -> Any:
        from pymongo import AsyncMongoClient

        millis = max(1, int(self.server_selection_timeout * 1000))
        return AsyncMongoClient(
            self.url,
            serverSelectionTimeoutMS=millis,
            connectTimeoutMS=millis,
            socketTimeoutMS=millis,
            connect=False,
            appname="keel-health",
        )

    async def probe(self) -> Observation:
        from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

        if self._client is None:
            self._client = self._make_client()
        try:
            await self._client.admin.command("ping")
        except ServerSelectionTimeoutError as exc:
            return Observation(
                Outcome.FAILED,
                f"server selection failed within {self.server_selection_timeout:g} s: {_reason(str(exc))}",
            )
        except OperationFailure as exc:
            if exc.code in (13, 18):  # Unauthorized, AuthenticationFailed
                return Observation(Outcome.MISCONFIGURED, "authentication failed: configuration fault")
            return Observation(Outcome.FAILED, f"ping failed (code {exc.code})")
        return Observation(Outcome.OK, "ping ok")

    def secrets(self) -> Iterable[str]:
        return url_secrets(self.url)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
