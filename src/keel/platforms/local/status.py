"""What ``keel status`` reports for a local environment: the daemon, each revision's health, the split."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from keel.platforms.local.client import LocalPlatform, RevisionStatus
from keel.platforms.local.supervisor import port_listens


class Health(StrEnum):
    READY = "ready"  # the readiness URL answered 2xx
    NOT_READY = "not ready"  # it answered something else
    LISTENING = "listening"  # no readiness URL (404), but the port accepts connections
    DOWN = "down"  # nothing accepts connections on the port


@dataclass(frozen=True)
class HealthResult:
    health: Health
    detail: str


async def probe_readiness(url: str, path: str, probe_timeout: float) -> HealthResult:
    """Readiness (not liveness) of one revision: GET ``url + path``; a missing endpoint falls back to a TCP
    connect, so services without a readiness URL still show whether they are up."""
    import httpx

    try:
        # Revision URLs are plain HTTP on loopback: no TLS context to build, no proxy from the environment.
        async with httpx.AsyncClient(timeout=probe_timeout, verify=False, trust_env=False) as client:  # noqa: S501  # nosec B501: plain HTTP on loopback
            response = await client.get(url.rstrip("/") + path)
    except httpx.HTTPError as exc:
        return HealthResult(Health.DOWN, type(exc).__name__)
    if 200 <= response.status_code < 300:
        return HealthResult(Health.READY, f"{path}: {response.status_code}")
    if response.status_code == 404:
        host, _, port = url.removeprefix("http://").rstrip("/").rpartition(":")
        if await port_listens(host, int(port), within=probe_timeout):
            return HealthResult(Health.LISTENING, f"{path}: 404, port accepts connections")
        return HealthResult(Health.DOWN, f"{path}: 404")
    return HealthResult(Health.NOT_READY, f"{path}: {response.status_code}")


@dataclass(frozen=True)
class RevisionReport:
    status: RevisionStatus
    health: HealthResult
    requests: int
    errors: int

    def to_json(self) -> dict[str, Any]:
        revision = self.status.revision
        return {
            "name": revision.name,
            "url": revision.url,
            "state": revision.state.value,
            "detail": revision.detail,
            "health": self.health.health.value,
            "health_detail": self.health.detail,
            "weight": self.status.weight,
            "pid": self.status.pid,
            "restarts": self.status.restarts,
            "requests": self.requests,
            "errors": self.errors,
            "log": self.status.log,
        }


@dataclass(frozen=True)
class EnvironmentStatus:
    """The whole picture; ``running`` is False (and the rest empty) when no daemon serves the environment."""

    service: str
    env_name: str
    url: str
    running: bool
    daemon_pid: int | None
    state_dir: str
    revisions: tuple[RevisionReport, ...]
    weights: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.env_name,
            "platform": "local",
            "url": self.url,
            "running": self.running,
            "daemon_pid": self.daemon_pid,
            "state_dir": self.state_dir,
            "traffic": dict(self.weights),
            "revisions": [r.to_json() for r in self.revisions],
        }


async def collect_status(
    platform: LocalPlatform, health_path: str, probe_timeout: float = 3.0
) -> EnvironmentStatus:
    """Ask the daemon (never starting one) and probe every revision's readiness in parallel."""
    info = platform.daemon()
    if info is None:
        return EnvironmentStatus(
            platform.service, platform.env_name, platform.url, False, None, str(platform.state.path), (), {}
        )
    statuses = await platform.revision_status()
    totals = {t["revision"]: t for t in await platform.totals()}
    split = await platform.traffic()
    healths = await asyncio.gather(
        *(probe_readiness(s.revision.url, health_path, probe_timeout) for s in statuses)
    )
    reports = tuple(
        RevisionReport(
            s,
            h,
            int(totals.get(s.revision.name, {}).get("requests", 0)),
            int(totals.get(s.revision.name, {}).get("errors", 0)),
        )
        for s, h in zip(statuses, healths, strict=True)
    )
    return EnvironmentStatus(
        platform.service,
        platform.env_name,
        platform.url,
        True,
        info.pid,
        str(platform.state.path),
        reports,
        dict(split.weights),
    )
