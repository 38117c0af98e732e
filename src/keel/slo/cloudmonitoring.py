"""Cloud Monitoring alert policies (PromQL conditions over Managed Service for Prometheus data) and
notification channels, as the Monitoring API v3 accepts them (JSON, camelCase), from the shared rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.durations import format_duration
from keel.slo.config import AlertsSpec
from keel.slo.prometheus import condition_expr
from keel.slo.rules import AlertRule

_SEVERITY = {"page": "CRITICAL", "ticket": "WARNING", "warning": "WARNING"}
CHANNEL_PREFIX = "keel-"


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _label(value: str) -> str:
    """User label values: lowercase letters, digits, underscores and dashes, at most 63 characters."""
    out = "".join(c if c.isalnum() or c in "_-" else "_" for c in value.lower())
    return out[:63]


def _documentation(rule: AlertRule) -> dict[str, Any]:
    lines = [f"**{rule.name}** ({rule.severity}): {rule.summary}.", "", f"Threshold: {rule.threshold:g}."]
    if rule.runbook_url:
        lines.append(f"Runbook: {rule.runbook_url}")
    if rule.dashboard_url:
        lines.append(f"Dashboard: {rule.dashboard_url}")
    links = [
        {"displayName": name, "url": url}
        for name, url in (("Runbook", rule.runbook_url), ("Dashboard", rule.dashboard_url))
        if url
    ]
    doc: dict[str, Any] = {"content": "\n".join(lines), "mimeType": "text/markdown",
                           "subject": f"{rule.name}: {rule.summary}"[:255]}  # fmt: skip
    if links:
        doc["links"] = links
    return doc


def alert_policy(rule: AlertRule, alerts: AlertsSpec, service: str) -> dict[str, Any]:
    where = " ".join(v for v in (service, rule.labels.get("environment", "")) if v)
    extra = f" ({rule.labels['slo']}, {rule.severity})" if "slo" in rule.labels else ""
    name = f"{where} {rule.name}{extra}".strip()
    user_labels = {k: _label(v) for k, v in rule.labels.items()} | {
        "alert": _label(rule.name),
        "managed_by": "keel",
    }
    return {
        "displayName": name,
        "documentation": _documentation(rule),
        "userLabels": user_labels,
        "conditions": [
            {
                "displayName": f"{rule.name}: {rule.summary}",
                "conditionPrometheusQueryLanguage": {
                    "query": condition_expr(rule.condition, alerts.signals, rule.labels, inline=True),
                    "duration": _seconds(rule.for_),
                    "evaluationInterval": _seconds(alerts.interval),
                    "ruleGroup": "keel",
                    "alertRule": rule.name,
                    "labels": dict(rule.labels),
                },
            }
        ],
        "combiner": "OR",
        "enabled": True,
        "severity": _SEVERITY[rule.severity],
        "alertStrategy": {"autoClose": _seconds(alerts.cloudmonitoring.auto_close)},
    }


def notification_channel(channel: str, alerts: AlertsSpec, notify: Mapping[str, Mapping[str, Any]]) -> tuple[
    dict[str, Any] | None, dict[str, str]
]:  # fmt: skip
    """A channel without its secret, and which label the secret goes in (label -> variable)."""
    display = CHANNEL_PREFIX + channel
    base: dict[str, Any] = {"displayName": display, "userLabels": {"managed_by": "keel"}, "enabled": True}
    if channel == "pagerduty":
        variable = str(notify.get("pagerduty", {}).get("routing_key_env", "PAGERDUTY_ROUTING_KEY"))
        return {**base, "type": "pagerduty"}, {"service_key": variable}
    if channel == "slack":
        slack_channel = notify.get("slack", {}).get("channel") or alerts.alertmanager.slack_channel
        labels = {"channel_name": slack_channel}
        return {**base, "type": "slack", "labels": labels}, {
            "auth_token": alerts.cloudmonitoring.slack_token_env
        }
    if channel == "webhook":
        variable = str(notify.get("webhook", {}).get("url_env", "ALERT_WEBHOOK_URL"))
        return {**base, "type": "webhook_tokenauth"}, {"url": variable}
    return None, {}


def policies_and_channels(
    rules: tuple[AlertRule, ...], alerts: AlertsSpec, notify: Mapping[str, Mapping[str, Any]], service: str
) -> dict[str, Any]:
    """``notificationChannels`` and ``alertPolicies`` as the API accepts them; ``secretLabelsFromEnv`` says
    which variable fills each channel's secret label, ``routes`` which channel each severity notifies (both
    read by ``keel alerts apply``, which links policies to the channels' resource names)."""
    channels: list[dict[str, Any]] = []
    secrets: dict[str, dict[str, str]] = {}
    for channel in sorted({r.channel for r in alerts.routes.values()}):
        body, secret = notification_channel(channel, alerts, notify)
        if body is not None:
            channels.append(body)
            secrets[body["displayName"]] = secret
    return {
        "notificationChannels": channels,
        "secretLabelsFromEnv": secrets,
        "routes": {
            sev: CHANNEL_PREFIX + r.channel for sev, r in alerts.routes.items() if r.channel != "noop"
        },
        "alertPolicies": [alert_policy(rule, alerts, service) for rule in rules],
        "interval": format_duration(alerts.interval),
    }
