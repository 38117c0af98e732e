"""Readiness probes over HTTP: used by the rollout gates, the platforms and the status commands alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field

from keel.durations import Duration
from keel.tls import tls_context


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


class Prober(Protocol):
    """One readiness probe of a URL (GET, 2xx is ready) answered within ``limit`` seconds."""

    async def probe(self, url: str, limit: float) -> ProbeResult: ...


class HttpProber:
    """Readiness over HTTP with a fresh connection per probe (a wedged keep-alive must not fake health)."""

    async def probe(self, url: str, limit: float) -> ProbeResult:
        try:
            async with httpx.AsyncClient(timeout=limit, verify=tls_context()) as client:
                response = await client.get(url, headers={"Connection": "close"})
        except httpx.TimeoutException:
            return ProbeResult(False, f"no answer within {limit:g}s")
        except httpx.HTTPError as exc:
            return ProbeResult(False, f"cannot connect: {type(exc).__name__}")
        if 200 <= response.status_code < 300:
            return ProbeResult(True, f"HTTP {response.status_code}")
        return ProbeResult(False, f"HTTP {response.status_code}")


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


# --- the probes a platform gives each revision (keel.yaml ``probes:``) ----------------------------------------


class ProbeSpec(BaseModel):
    """One probe of a revision: HTTP GET ``path`` must answer 2xx within ``timeout``, every ``period``;
    ``failure_threshold`` misses in a row fail it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(default="/health/ready", pattern=r"^/")
    timeout: Duration = 5.0
    period: Duration = 10.0
    failure_threshold: int = Field(default=3, ge=1)


class Probes(BaseModel):
    """Start-up, liveness and readiness probes (Cloud Run turns start-up and liveness into revision probes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    startup: ProbeSpec = ProbeSpec(path="/health/startup")
    liveness: ProbeSpec = ProbeSpec(path="/health/live", timeout=3.0)
    readiness: ProbeSpec = ProbeSpec(path="/health/ready")
