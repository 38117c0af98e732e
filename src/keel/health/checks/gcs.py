"""Google Cloud Storage check: the bucket's metadata through the official (blocking) client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keel.health.base import BaseCheck, Observation, Outcome
from keel.health.checks.blocking import BlockingCall
from keel.health.checks.clients import require


def _default_client(project: str | None) -> Any:
    from google.cloud.storage import Client

    return Client(project=project)


class GcsCheck(BaseCheck):
    """``get_bucket`` in a worker thread: 404 fails, 401/403 is a configuration fault."""

    kind = "gcs"

    component_type = "datastore"

    def __init__(
        self,
        bucket: str,
        *,
        project: str | None = None,
        name: str = "gcs",
        request_timeout: float = 5.0,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("a GCS check needs a bucket name")
        if client_factory is None:
            require("google.cloud.storage", check="gcs", extra="gcp")
        self.name = name
        self.bucket = bucket
        self.project = project
        self.request_timeout = request_timeout
        self._factory = client_factory or (lambda: _default_client(project))
        self._client: Any = None
        self._call = BlockingCall()

    async def probe(self) -> Observation:
        return await self._call.run(self._probe)

    def _probe(self) -> Observation:
        from google.api_core import exceptions

        if self._client is None:
            self._client = self._factory()
        try:
            self._client.get_bucket(
                self.bucket, timeout=self.request_timeout, retry=None
            )  # one try per probe
        except exceptions.NotFound:
            return Observation(Outcome.MISCONFIGURED, "bucket not found (HTTP 404)")
        except (exceptions.Unauthorized, exceptions.Forbidden) as exc:
            code = getattr(exc, "code", "")
            return Observation(
                Outcome.MISCONFIGURED, f"access to the bucket refused (HTTP {code}): configuration fault"
            )
        return Observation(Outcome.OK, "bucket metadata read")
