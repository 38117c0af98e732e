"""Slack incoming webhook: a short text plus a block with the event's facts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from keel.notify.base import Event, Severity
from keel.notify.webhook import HttpPoster, resolve_url

_ICON = {
    Severity.INFO: ":large_green_circle:",
    Severity.WARNING: ":warning:",
    Severity.CRITICAL: ":red_circle:",
}


class SlackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook_env: str = Field(default="SLACK_WEBHOOK_URL", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    channel: str | None = None


def slack_payload(event: Event, channel: str | None = None) -> dict[str, Any]:
    """The message body Slack's incoming webhooks accept (``text`` is the notification fallback)."""
    where = f"{event.service}/{event.environment}" if event.service else event.environment
    text = f"{_ICON[event.severity]} *{event.title}* ({where})"
    fields = [
        {"type": "mrkdwn", "text": f"*{key}*\n{value}"}
        for key, value in event.data.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{event.message}"}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    payload: dict[str, Any] = {"text": f"{text}: {event.message}", "blocks": blocks}
    if channel:
        payload["channel"] = channel
    return payload


class SlackNotifier(HttpPoster):
    name = "slack"
    Config = SlackConfig

    def __init__(
        self, config: dict[str, Any], environ: Mapping[str, str] | None = None, timeout: float = 3.0
    ) -> None:
        self._config = SlackConfig.model_validate(config)
        env = os.environ if environ is None else environ
        super().__init__(resolve_url(self._config.webhook_env, self.name, env), timeout=timeout)

    async def send(self, event: Event) -> None:
        await self.post(slack_payload(event, self._config.channel))
