"""The rotation's parts on keel's own machinery: releases through the gated deploy (keel.rollout.release) and
verification through the service's deep health over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keel.rollout.phases import Kind, Phase
from keel.rollout.state import Rollout
from keel.secrets.errors import SecretsError
from keel.secrets.rotation import DeployOutcome
from keel.types import Sleeper

if TYPE_CHECKING:
    from keel.platforms.base import Platform
    from keel.rollout.release import Release
    from keel.rollout.report import RolloutReport
    from keel.store import Store


class ReleaseDeployer:
    """Each rotation release is one ``keel deploy`` of the environment: health gate, smoke gate, canary steps
    and analysis, automatic rollback. Its revision env holds secret references, never values."""

    def __init__(self, release: Release, store: Store, platform: Platform) -> None:
        self.release = release
        self.store = store
        self.platform = platform
        self.environment = release.environment

    async def serving(self) -> str | None:
        return (await self.platform.traffic()).single

    async def deploy(self, env: Mapping[str, str], *, since: float) -> DeployOutcome:
        wanted = dict(env)
        active = self.store.active_rollout(self.environment)
        if active is not None:
            rollout = Rollout.from_json(active.state)
            if rollout.kind is not Kind.DEPLOY or rollout.revision_env != wanted:
                raise SecretsError(
                    f"environment {self.environment}: rollout {active.id} did not finish; finish it first "
                    "(keel deploy --resume or keel rollback)"
                )
            return _outcome(await self.release.deploy(resume=True))
        for row in self.store.rollouts(self.environment, limit=5):
            rollout = Rollout.from_json(row.state)
            if row.created >= since and rollout.kind is Kind.DEPLOY and rollout.revision_env == wanted:
                promoted = rollout.phase is Phase.PROMOTED
                return DeployOutcome(promoted, rollout.revision, rollout.reason or rollout.phase.value)
        return _outcome(await self.release.deploy(revision_env=wanted))

    async def settle(self, env: Mapping[str, str]) -> None:
        active = self.store.active_rollout(self.environment)
        if active is not None and Rollout.from_json(active.state).revision_env == dict(env):
            await self.release.abort("keel secrets: the rotation is rolling back")

    async def restore(self, revision: str) -> None:
        if await self.serving() == revision:
            return
        report = await self.release.rollback(revision=revision)
        if report.phase is not Phase.ROLLED_BACK:
            raise SecretsError(
                f"traffic back to {revision}: {report.phase.value} ({report.rollout.reason or report.cause})"
            )

    async def url(self, revision: str) -> str | None:
        return next((r.url for r in await self.platform.revisions() if r.name == revision), None)


def _outcome(report: RolloutReport) -> DeployOutcome:
    rollout = report.rollout
    detail = rollout.reason or report.cause or rollout.phase.value
    return DeployOutcome(report.phase is Phase.PROMOTED, rollout.revision, detail)


class HttpVerifier:
    """GET the health URL: healthy on a 200 within ``attempts`` tries. The reason names the failing checks of a
    keel.health report (their names and statuses, never their details, which a service may fill with text)."""

    def __init__(
        self,
        timeout: float = 10.0,
        attempts: int = 3,
        pause: float = 1.0,
        sleeper: Sleeper = asyncio.sleep,
        transport: Any = None,
    ):
        self.timeout = timeout
        self.attempts = attempts
        self.pause = pause
        self._sleep = sleeper
        self._transport = transport  # an httpx transport (tests)

    async def verify(self, url: str) -> tuple[bool, str]:
        import httpx

        detail = ""
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
            for attempt in range(self.attempts):
                if attempt:
                    await self._sleep(self.pause)
                try:
                    response = await client.get(url)
                except httpx.HTTPError as exc:
                    detail = f"unreachable ({type(exc).__name__})"
                    continue
                if response.status_code == 200:
                    return True, "200"
                detail = f"HTTP {response.status_code}{_failing(response)}"
        return False, detail


def _failing(response: object) -> str:
    try:
        body = response.json()  # type: ignore[attr-defined]
    except ValueError:
        return ""
    checks = body.get("checks") if isinstance(body, dict) else None
    if not isinstance(checks, dict):
        return ""
    bad = sorted(str(name) for name, status in checks.items() if status == "unhealthy")
    return f": failing {', '.join(bad)}" if bad else ""
