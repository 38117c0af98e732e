"""The notifier protocol and the event it sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Event:
    """Something worth telling people about: a release started, a gate failed, a rollback finished."""

    kind: str
    title: str
    message: str
    severity: Severity = Severity.INFO
    service: str = ""
    environment: str = ""
    at: float = 0.0
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "message": self.message,
            "severity": self.severity.value,
            "service": self.service,
            "environment": self.environment,
            "at": self.at,
            "data": dict(self.data),
        }


class Notifier(Protocol):
    """One channel (Slack, a webhook, ...). ``send`` may raise NotifyError; the dispatcher contains it."""

    name: str

    async def send(self, event: Event) -> None: ...

    async def aclose(self) -> None: ...
