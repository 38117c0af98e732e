"""A notifier that drops every event: the default when no channel is configured."""

from __future__ import annotations

from typing import Any

from keel.notify.base import Event


class NoopNotifier:
    name = "noop"

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.sent = 0

    async def send(self, event: Event) -> None:
        self.sent += 1

    async def aclose(self) -> None:
        return None
