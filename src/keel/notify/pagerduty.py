"""PagerDuty Events API v2: alerts trigger and resolve incidents by dedup key; other events are info."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keel.notify.base import Event, Severity
from keel.notify.errors import NotifierConfigError
from keel.notify.webhook import HttpPoster

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_SEVERITY = {Severity.CRITICAL: "critical", Severity.WARNING: "warning", Severity.INFO: "info"}
RESOLVED_KINDS = frozenset({"alert_resolved"})
ALERT_KINDS = frozenset({"alert_firing", "alert_resolved", "alert_test"})


def pages(event: Event, events: str) -> bool:
    """Whether ``event`` goes to PagerDuty under the channel's ``events`` setting (a release's routine
    progress must not open incidents)."""
    if events == "all" or event.kind in ALERT_KINDS:
        return True
    return events == "critical" and event.severity is Severity.CRITICAL


class PagerDutyConfig(BaseModel):
    """The routing key (an integration key: a secret) is read from ``routing_key_env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routing_key_env: str = Field(default="PAGERDUTY_ROUTING_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    url: str = Field(default=EVENTS_URL, pattern=r"^https?://")
    client: str = "keel"
    # Which events page: alerts only, alerts and critical release events (a failed rollback), or all events.
    events: Literal["alerts", "critical", "all"] = "critical"


def dedup_key(event: Event) -> str:
    """One incident per alert: the watcher's alert key, else service/environment/kind."""
    key = event.data.get("dedup_key")
    return str(key) if key else f"{event.service}/{event.environment}/{event.kind}"[:255]


def pagerduty_body(event: Event, routing_key: str, client: str = "keel") -> dict[str, Any]:
    """An Events API v2 body. ``routing_key`` is the protocol's credential field, nothing else is secret."""
    if event.kind in RESOLVED_KINDS:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key(event)}
    details = {
        k: v for k, v in event.data.items() if isinstance(v, str | int | float | bool) and k != "dedup_key"
    }
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(event),
        "client": client,
        "payload": {
            "summary": f"{event.title}: {event.message}"[:1024],
            "source": f"{event.service}/{event.environment}".strip("/") or "keel",
            "severity": _SEVERITY[event.severity],
            "component": event.service or None,
            "group": event.environment or None,
            "class": event.kind,
            "custom_details": {"message": event.message, **details},
        },
    }
    links = [
        {"href": str(event.data[k]), "text": text}
        for k, text in (("runbook", "Runbook"), ("dashboard", "Dashboard"))
        if str(event.data.get(k, "")).startswith(("http://", "https://"))
    ]
    if links:
        body["links"] = links
    body["payload"] = {k: v for k, v in body["payload"].items() if v is not None}
    return body


class PagerDutyNotifier(HttpPoster):
    name = "pagerduty"
    Config = PagerDutyConfig

    def __init__(
        self, config: dict[str, Any], environ: Mapping[str, str] | None = None, timeout: float = 3.0
    ) -> None:
        self._config = PagerDutyConfig.model_validate(config)
        env = os.environ if environ is None else environ
        key = env.get(self._config.routing_key_env, "").strip()
        if not key:
            raise NotifierConfigError(
                f"notify.{self.name}: environment variable {self._config.routing_key_env} is not set"
            )
        self._routing_key = key
        super().__init__(self._config.url, timeout=timeout)

    async def send(self, event: Event) -> None:
        if pages(event, self._config.events):
            await self.post(pagerduty_body(event, self._routing_key, self._config.client))
