"""``keel alerts test``: one clearly marked test notification through each channel the alert routes use."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keel.notify.base import Event, Severity
from keel.notify.registry import create_notifiers
from keel.slo.config import AlertsSpec


@dataclass(frozen=True)
class Delivery:
    channel: str
    severities: tuple[str, ...]
    ok: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "severities": list(self.severities),
            "ok": self.ok,
            "message": self.message,
        }


def marked_event(service: str, environment: str, channel: str, at: float) -> Event:
    return Event(
        kind="alert_test",
        title="[TEST] keel alert test",
        message=f"Test notification from keel for {service} ({environment}) on channel {channel}: "
        "no action needed.",
        severity=Severity.INFO,
        service=service,
        environment=environment,
        at=at,
        data={"test": True, "dedup_key": f"{service}/{environment}/keel-alert-test", "channel": channel},
    )


async def send_tests(
    alerts: AlertsSpec,
    channels: Mapping[str, Mapping[str, Any]],
    service: str,
    environment: str,
    *,
    wait: float = 5.0,
    environ: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """Send the test event through every channel a severity routes to; a channel not configured in notify:
    or whose secret variable is unset is reported, not raised."""
    by_channel: dict[str, list[str]] = {}
    for severity, receiver in alerts.routes.items():
        by_channel.setdefault(receiver.channel, []).append(severity)
    results: list[Delivery] = []
    for channel, severities in sorted(by_channel.items()):
        if channel not in channels:
            results.append(
                Delivery(channel, tuple(severities), False, f"not configured under notify: {channel}")
            )
            continue
        notifiers, warnings = create_notifiers({channel: dict(channels[channel])}, wait, environ)
        if not notifiers:
            results.append(Delivery(channel, tuple(severities), False, "; ".join(warnings)))
            continue
        notifier = notifiers[0]
        try:
            await asyncio.wait_for(
                notifier.send(marked_event(service, environment, channel, time.time())), wait
            )
            results.append(Delivery(channel, tuple(severities), True, "delivered"))
        except Exception as exc:  # reported per channel
            results.append(Delivery(channel, tuple(severities), False, str(exc) or type(exc).__name__))
        finally:
            await notifier.aclose()
    return results
