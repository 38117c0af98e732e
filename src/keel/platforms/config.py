"""What every platform's keel.yaml settings share, and what a platform is built from besides them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from keel.platforms.base import Platform
from keel.probing import Probes


class PlatformConfig(BaseModel):
    """The settings of one environment (``environments.<name>`` in keel.yaml). Each platform subclasses it
    with ``platform: Literal["<its name>"]`` and its own keys; keel.yaml's environments are the union of the
    registered platforms' models, told apart by ``platform``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: str
    env: dict[str, str] = Field(default_factory=dict)
    keep_revisions: int | None = Field(default=None, ge=2, le=100)

    def release_notes(self) -> tuple[str, ...]:
        """What a release summary should tell about this environment (documented limits, say)."""
        return ()


@dataclass(frozen=True)
class PlatformContext:
    """What the spec knows beyond the environment's own settings. ``state_dir`` is the project's ``.keel``
    directory (a platform keeps its files under ``<state_dir>/<environment>/``). ``read_only``: the caller only
    reads (a dry run): the platform must start nothing."""

    service: str
    environment: str
    state_dir: Path
    probes: Probes = field(default_factory=Probes)
    read_only: bool = False


class PlatformAdapter(Protocol):
    """A platform as the registry holds it: a class with its settings model and a factory."""

    Config: ClassVar[type[PlatformConfig]]

    @classmethod
    def from_config(cls, config: PlatformConfig, context: PlatformContext) -> Platform: ...
