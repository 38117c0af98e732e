"""An Alertmanager configuration: a route per severity, grouping, inhibition, repeats; secrets as files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.durations import format_duration
from keel.slo.config import SEVERITIES, AlertsSpec

# The variable holding each channel's secret when keel.yaml's notify: section does not name one.
SECRET_VARIABLES = {
    "pagerduty": ("routing_key_env", "PAGERDUTY_ROUTING_KEY"),
    "slack": ("webhook_env", "SLACK_WEBHOOK_URL"),
    "webhook": ("url_env", "ALERT_WEBHOOK_URL"),
}
GROUP_BY = ["alertname", "service", "environment", "slo"]

_SUMMARY = "{{ .CommonLabels.alertname }} ({{ .CommonLabels.service }}): {{ .CommonAnnotations.summary }}"


def secret_variable(channel: str, notify: Mapping[str, Mapping[str, Any]]) -> str:
    key, default = SECRET_VARIABLES[channel]
    return str(notify.get(channel, {}).get(key, default))


def _receiver(channel: str, alerts: AlertsSpec, notify: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    opts = alerts.alertmanager
    name = f"keel-{channel}"
    if channel == "noop":
        return {"name": name}
    secret = f"{opts.secrets_dir.rstrip('/')}/{secret_variable(channel, notify)}"
    if channel == "pagerduty":
        config: dict[str, Any] = {
            "routing_key_file": secret,
            "send_resolved": True,
            "severity": '{{ if eq .CommonLabels.severity "page" }}critical{{ else }}warning{{ end }}',
            "description": _SUMMARY,
            "details": {
                "service": "{{ .CommonLabels.service }}",
                "environment": "{{ .CommonLabels.environment }}",
                "alert": "{{ .CommonLabels.alertname }}",
                "threshold": "{{ .CommonAnnotations.threshold }}",
                "runbook": "{{ .CommonAnnotations.runbook_url }}",
                "dashboard": "{{ .CommonAnnotations.dashboard_url }}",
                "firing": "{{ .Alerts.Firing | len }}",
            },
        }
        if opts.pagerduty_url:
            config["url"] = opts.pagerduty_url
        return {"name": name, "pagerduty_configs": [config]}
    if channel == "slack":
        channel_name = notify.get("slack", {}).get("channel") or opts.slack_channel
        return {
            "name": name,
            "slack_configs": [
                {
                    "api_url_file": secret,
                    "channel": channel_name,
                    "send_resolved": True,
                    "title": "[{{ .Status | toUpper }}] " + _SUMMARY,
                    "title_link": "{{ .CommonAnnotations.dashboard_url }}",
                    "text": "{{ range .Alerts }}{{ .Annotations.description }}\n"
                    "runbook: {{ .Annotations.runbook_url }}\n{{ end }}",
                }
            ],
        }
    target = {"url": opts.webhook_url} if opts.webhook_url else {"url_file": secret}
    return {"name": name, "webhook_configs": [{**target, "send_resolved": True}]}


def alertmanager_config(alerts: AlertsSpec, notify: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Pages to PagerDuty, warnings and tickets to Slack (by default); a page inhibits the warnings and
    tickets of the same service and environment; firing alerts repeat at their severity's interval."""
    opts = alerts.alertmanager
    routes = alerts.routes
    default = routes.get("warning") or next(iter(routes.values()), None)
    channels = sorted({r.channel for r in routes.values()})
    route: dict[str, Any] = {
        "receiver": f"keel-{default.channel}" if default else "keel-noop",
        "group_by": GROUP_BY,
        "group_wait": format_duration(opts.group_wait),
        "group_interval": format_duration(opts.group_interval),
        "repeat_interval": format_duration(default.repeat if default else 14400.0),
        "routes": [
            {
                "receiver": f"keel-{routes[sev].channel}",
                "matchers": [f'severity="{sev}"'],
                "repeat_interval": format_duration(routes[sev].repeat),
            }
            for sev in SEVERITIES
            if sev in routes
        ],
    }
    receivers = [_receiver(c, alerts, notify) for c in channels]
    if default is None:
        receivers.append({"name": "keel-noop"})
    return {
        "route": route,
        "inhibit_rules": [
            {
                "source_matchers": ['severity="page"'],
                "target_matchers": ['severity=~"warning|ticket"'],
                "equal": ["service", "environment"],
            }
        ],
        "receivers": receivers,
    }
