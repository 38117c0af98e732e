"""What a metric source is built from besides its own settings: the environment's platform, and options only
the caller knows (a ready client, credentials, a test transport)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from keel.analysis.base import MetricSource


@dataclass(frozen=True)
class SourceContext:
    platform: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)


class SourceAdapter(Protocol):
    """A metric source as the registry holds it: a class with its settings model (None: it takes none) and a
    factory."""

    Config: ClassVar[type[BaseModel] | None]

    @classmethod
    def from_config(cls, config: BaseModel | None, context: SourceContext) -> MetricSource: ...
