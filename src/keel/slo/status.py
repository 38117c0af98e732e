"""``keel alerts status``: the alerts firing now, from the watcher's store or from Alertmanager's API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keel.slo.errors import WatchError
from keel.store import Store


@dataclass(frozen=True)
class FiringAlert:
    name: str
    severity: str
    state: str
    since: float | None
    value: float | None
    labels: dict[str, str]
    source: str  # watcher or alertmanager

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "severity": self.severity, "state": self.state, "since": self.since,
            "value": self.value, "labels": self.labels, "source": self.source,
        }  # fmt: skip


def from_store(store: Store, service: str, environment: str) -> list[FiringAlert]:
    return [
        FiringAlert(
            row.name,
            row.severity,
            row.state,
            row.fired_at or row.active_since,
            row.value,
            {"service": service, "environment": environment},
            "watcher",
        )
        for row in store.alerts(service, environment)
    ]


async def from_alertmanager(url: str, service: str, wait: float = 5.0) -> list[FiringAlert]:
    """Active alerts of ``service`` from Alertmanager's v2 API (silenced and inhibited ones included, marked)."""
    import datetime as dt

    import httpx

    try:
        async with httpx.AsyncClient(timeout=wait) as client:
            answer = await client.get(
                url.rstrip("/") + "/api/v2/alerts", params={"filter": f'service="{service}"'}
            )
    except httpx.HTTPError as exc:
        raise WatchError(f"Alertmanager {url}: not reachable: {type(exc).__name__}") from None
    if answer.status_code != 200:
        raise WatchError(f"Alertmanager {url}: /api/v2/alerts answered HTTP {answer.status_code}")
    out = []
    for alert in answer.json():
        labels = dict(alert.get("labels", {}))
        state = str(alert.get("status", {}).get("state", "active"))
        since = dt.datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")).timestamp()
        out.append(
            FiringAlert(
                labels.get("alertname", "?"),
                labels.get("severity", ""),
                "firing" if state == "active" else state,
                since,
                None,
                labels,
                "alertmanager",
            )
        )
    return sorted(out, key=lambda a: (a.name, sorted(a.labels.items())))
