"""An in-memory Platform: revisions and a traffic split held in a dict, for engine tests and dry runs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar, Literal

from keel.platforms.base import PlatformError, Revision, RevisionSpec, RevisionState, TrafficSplit
from keel.platforms.config import PlatformConfig, PlatformContext
from keel.probing import ProbeResult
from keel.types import Clock


class MemoryConfig(PlatformConfig):
    """``platform: memory``: nothing runs; for rehearsing a spec and for tests."""

    platform: Literal["memory"]


class MemoryPlatform:
    """Behaves like a real platform (names must be unique, traffic only to known running revisions, no removal
    while serving) and lets tests script readiness, crashes and refused operations."""

    Config: ClassVar[type[PlatformConfig]] = MemoryConfig

    @classmethod
    def from_config(cls, config: PlatformConfig, context: PlatformContext) -> MemoryPlatform:
        return cls(service=context.service)

    def __init__(self, clock: Clock = time.time, service: str = "svc") -> None:
        self._clock = clock
        self.service = service
        self._revisions: dict[str, Revision] = {}
        self._weights: dict[str, int] = {}
        self.ready: dict[str, bool] = {}
        self.failing: dict[str, PlatformError] = {}
        self.history: list[tuple[float, dict[str, int]]] = []
        self.removed: list[str] = []

    def _check(self, operation: str) -> None:
        error = self.failing.get(operation)
        if error is not None:
            raise error

    async def deploy(self, spec: RevisionSpec) -> Revision:
        self._check("deploy")
        if spec.name in self._revisions:
            raise PlatformError(f"memory platform: revision {spec.name} already exists")
        revision = Revision(
            spec.name, f"http://{spec.name}.memory.invalid", self._clock(), RevisionState.STARTING
        )
        self._revisions[spec.name] = revision
        self.ready.setdefault(spec.name, True)
        return revision

    async def set_traffic(self, weights: Mapping[str, int]) -> TrafficSplit:
        self._check("set_traffic")
        for name, weight in weights.items():
            revision = self._revisions.get(name)
            if revision is None:
                raise PlatformError(f"memory platform: no revision {name}")
            if weight > 0 and revision.state in (RevisionState.FAILED, RevisionState.STOPPED):
                raise PlatformError(f"memory platform: revision {name} is {revision.state.value}")
        try:
            split = TrafficSplit({n: w for n, w in weights.items() if w > 0})
        except ValueError as exc:
            raise PlatformError(f"memory platform: {exc}") from None
        self._weights = dict(split.weights)
        self.history.append((self._clock(), dict(split.weights)))
        return split

    async def traffic(self) -> TrafficSplit:
        self._check("traffic")
        return TrafficSplit(dict(self._weights))

    async def revisions(self) -> list[Revision]:
        return sorted(self._revisions.values(), key=lambda r: r.created)

    async def remove(self, name: str) -> None:
        self._check("remove")
        if self._weights.get(name, 0) > 0:
            raise PlatformError(f"memory platform: revision {name} still has traffic")
        if self._revisions.pop(name, None) is not None:
            self.removed.append(name)

    # --- test controls --------------------------------------------------------------------------------------

    def set_state(self, name: str, state: RevisionState, detail: str = "") -> None:
        self._revisions[name] = replace(self._revisions[name], state=state, detail=detail)

    def add_serving(self, name: str) -> Revision:
        """A revision that already serves all traffic (the state before a release)."""
        revision = Revision(name, f"http://{name}.memory.invalid", self._clock(), RevisionState.RUNNING)
        self._revisions[name] = revision
        self.ready[name] = True
        self._weights = {name: 100}
        return revision

    def prober(self) -> MemoryProber:
        return MemoryProber(self)


class MemoryProber:
    """Readiness of memory revisions, from ``platform.ready``; a URL of no known revision refuses connection."""

    def __init__(self, platform: MemoryPlatform) -> None:
        self._platform = platform
        self.probes: list[str] = []

    async def probe(self, url: str, limit: float) -> ProbeResult:
        self.probes.append(url)
        host = url.split("://", 1)[-1].split("/", 1)[0]
        name = host.removesuffix(".memory.invalid")
        if name not in self._platform.ready:
            return ProbeResult(False, "cannot connect: ConnectError")
        if self._platform.ready[name]:
            return ProbeResult(True, "HTTP 200")
        return ProbeResult(False, "HTTP 503")
