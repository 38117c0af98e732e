"""The local router as a metric source: per-revision windows read from the local platform's daemon."""

from __future__ import annotations

from typing import ClassVar, Protocol

from pydantic import BaseModel

from keel.analysis.base import RevisionWindow
from keel.analysis.errors import AnalysisConfigError, AnalysisError
from keel.analysis.sources.context import SourceContext
from keel.errors import KeelError


class RouterWindows(Protocol):
    """What this source needs from the platform: ``LocalPlatform.window``."""

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow: ...


class RouterSource:
    """Windows of the requests the local router sent to each revision.

    The router keeps per-second slots for the last hour: a window covers the whole seconds that overlap
    [start, end]. Errors are 5xx answers plus requests the revision did not answer (the router's 502s).
    """

    Config: ClassVar[type[BaseModel] | None] = None  # no settings: it reads the environment's own router

    @classmethod
    def from_config(cls, config: BaseModel | None, context: SourceContext) -> RouterSource:
        platform = context.platform
        if platform is None or not hasattr(platform, "window"):
            raise AnalysisConfigError(
                "metric source 'router' reads the local platform's router: it needs an environment with "
                "platform: local"
            )
        return cls(platform)

    def __init__(self, platform: RouterWindows) -> None:
        self._platform = platform

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        if end < start:
            raise AnalysisError(
                f"router metrics of {revision}: window ends ({end}) before it starts ({start})"
            )
        try:
            return await self._platform.window(revision, start, end)
        except KeelError as exc:
            raise AnalysisError(f"router metrics of {revision}: {exc}") from exc
