"""The platform protocol: where revisions run and how traffic is split among them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from keel.errors import KeelError


class PlatformError(KeelError):
    """A platform refused or failed an operation; the message names the resource."""


class RevisionState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class RevisionSpec:
    """What to deploy. ``name`` is chosen by the caller (unique per service); ``env`` is added to the
    environment's own variables; ``image`` is for container platforms, ``command`` overrides the local command."""

    name: str
    env: Mapping[str, str] = field(default_factory=dict)
    image: str | None = None
    command: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Revision:
    """A deployed revision; ``url`` reaches this revision alone (its tag URL), whatever the traffic split."""

    name: str
    url: str
    created: float
    state: RevisionState
    detail: str = ""


@dataclass(frozen=True)
class TrafficSplit:
    """Percent of user traffic per revision; weights are integers that add up to 100 (or the split is empty
    when nothing serves yet)."""

    weights: Mapping[str, int]

    def __post_init__(self) -> None:
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("traffic weights must not be negative")
        total = sum(self.weights.values())
        if self.weights and total != 100:
            raise ValueError(f"traffic weights add up to {total}, not 100")

    @property
    def serving(self) -> tuple[str, ...]:
        """Revisions with non-zero traffic, heaviest first."""
        return tuple(n for n, w in sorted(self.weights.items(), key=lambda kv: -kv[1]) if w > 0)

    @property
    def single(self) -> str | None:
        """The revision with 100 %, or None when traffic is split or empty."""
        for name, weight in self.weights.items():
            if weight == 100:
                return name
        return None


def split_text(weights: Mapping[str, int]) -> str:
    """A split as messages show it: ``rev-b 90%, rev-a 10%`` (heaviest first), or ``no traffic``."""
    if not weights:
        return "no traffic"
    return ", ".join(f"{name} {weight}%" for name, weight in sorted(weights.items(), key=lambda kv: -kv[1]))


class Platform(Protocol):
    """One environment of one service on some platform (local processes, Cloud Run)."""

    async def deploy(self, spec: RevisionSpec) -> Revision:
        """Create a revision with no user traffic, reachable on its own tag URL; returns once created
        (not necessarily ready: the health gate decides that)."""
        ...

    async def set_traffic(self, weights: Mapping[str, int]) -> TrafficSplit:
        """Route user traffic by these weights (adding up to 100); returns the split now in effect."""
        ...

    async def traffic(self) -> TrafficSplit:
        """The split actually in effect, read from the platform (not from keel's own records)."""
        ...

    async def revisions(self) -> list[Revision]:
        """All revisions the platform knows, oldest first."""
        ...

    async def remove(self, name: str) -> None:
        """Stop and delete a revision; refused while it has traffic."""
        ...
