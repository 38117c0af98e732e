"""Cloud Monitoring's settings in keel.yaml (``analysis.cloudmonitoring``), shared by the gRPC and REST wires."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from keel.durations import Duration


class CloudMonitoringSpec(BaseModel):
    """Which Cloud Run service's metrics to read from Google Cloud Monitoring, and over which wire.

    ``transport: grpc`` uses the official client's ``MetricServiceClient``; ``transport: rest`` calls the
    documented ``GET /v3/projects/{project}/timeSeries`` over HTTPS. Both use Application Default
    Credentials. ``api_endpoint`` replaces Google's endpoint: ``host:port`` for grpc; for rest either
    ``host[:port]`` (HTTPS) or a full ``https://`` URL, ``http://`` only to a loopback host because every
    request carries a bearer token. ``timeout`` bounds each call (each page, for rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str
    service: str | None = None
    api_endpoint: str | None = None
    transport: Literal["grpc", "rest"] = "grpc"
    timeout: Duration = 30.0
    # Cloud Run's points become readable up to 180 s after the minute they describe; later seconds are not
    # judged (a window made only of them is inconclusive, never "no traffic").
    ingestion_delay: Duration = 180.0
    # No credentials at all: only for a local emulator (keel emulate cloudrun) on a plain-HTTP loopback URL.
    anonymous: bool = False

    @model_validator(mode="after")
    def _check_endpoint(self) -> CloudMonitoringSpec:
        from urllib.parse import urlsplit

        endpoint = self.api_endpoint
        if self.anonymous and (
            self.transport != "rest"
            or endpoint is None
            or urlsplit(endpoint).scheme != "http"
            or urlsplit(endpoint).hostname not in ("localhost", "127.0.0.1", "::1")
        ):
            raise ValueError(
                "anonymous: only with transport rest and an http:// loopback api_endpoint (an emulator)"
            )
        if endpoint is None or "://" not in endpoint:
            return self
        if self.transport == "grpc":
            raise ValueError(f"api_endpoint {endpoint!r}: transport grpc takes host:port, not a URL")
        url = urlsplit(endpoint)
        loopback = url.hostname in ("localhost", "127.0.0.1", "::1")
        if url.scheme != "https" and not (url.scheme == "http" and loopback):
            raise ValueError(f"api_endpoint {endpoint!r}: use https:// (http:// only to a loopback host)")
        return self
