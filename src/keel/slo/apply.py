"""``keel alerts apply``: create or update the Cloud Monitoring channels and alert policies of the
cloudmonitoring target through the official client (google-cloud-monitoring), idempotently by display name."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.errors import KeelError


class ApplyError(KeelError):
    """Cloud Monitoring refused a change; the message names the project and the resource, never a secret."""


@dataclass
class ApplyReport:
    project: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # with the reason

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
        }


def _clients(api_endpoint: str | None) -> tuple[Any, Any]:
    from google.cloud import monitoring_v3

    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    return (
        monitoring_v3.AlertPolicyServiceClient(client_options=options),
        monitoring_v3.NotificationChannelServiceClient(client_options=options),
    )


def apply_document(
    document: Mapping[str, Any],
    project: str,
    *,
    policies: Any = None,
    channels: Any = None,
    environ: Mapping[str, str] | None = None,
    api_endpoint: str | None = None,
) -> ApplyReport:
    """Make the project's keel-managed channels and policies match ``document`` (the cloudmonitoring
    target). Existing ones (same display name) are updated in place, others created; nothing is deleted."""
    import os

    from google.api_core import exceptions
    from google.cloud import monitoring_v3

    env = os.environ if environ is None else environ
    if policies is None or channels is None:
        policies, channels = _clients(api_endpoint)
    parent = f"projects/{project}"
    report = ApplyReport(project)
    try:
        existing_channels = {c.display_name: c for c in channels.list_notification_channels(name=parent)}
        channel_names: dict[str, str] = {}
        for body in document.get("notificationChannels", []):
            display = body["displayName"]
            channel = monitoring_v3.NotificationChannel.from_json(json.dumps(body))
            missing = []
            for label, variable in document.get("secretLabelsFromEnv", {}).get(display, {}).items():
                value = env.get(variable, "")
                if not value:
                    missing.append(variable)
                channel.labels[label] = value
            found = existing_channels.get(display)
            if missing and found is None:
                report.skipped.append(f"channel {display}: {', '.join(missing)} not set")
                continue
            if found is not None:
                channel.name = found.name
                if missing:  # keep the secret the channel already holds
                    for label in document["secretLabelsFromEnv"][display]:
                        channel.labels.pop(label, None)
                channels.update_notification_channel(notification_channel=channel)
                report.updated.append(f"channel {display}")
                channel_names[display] = found.name
            else:
                made = channels.create_notification_channel(name=parent, notification_channel=channel)
                report.created.append(f"channel {display}")
                channel_names[display] = made.name
        routes: Mapping[str, str] = document.get("routes", {})
        existing_policies = {p.display_name: p for p in policies.list_alert_policies(name=parent)}
        for body in document.get("alertPolicies", []):
            policy = monitoring_v3.AlertPolicy.from_json(json.dumps(body))
            severity = body.get("userLabels", {}).get("severity", "")
            target = channel_names.get(routes.get(severity, ""))
            if target:
                policy.notification_channels.append(target)
            found = existing_policies.get(policy.display_name)
            if found is not None:
                policy.name = found.name
                policies.update_alert_policy(alert_policy=policy)
                report.updated.append(f"policy {policy.display_name}")
            else:
                policies.create_alert_policy(name=parent, alert_policy=policy)
                report.created.append(f"policy {policy.display_name}")
    except exceptions.GoogleAPICallError as exc:
        raise ApplyError(
            f"Cloud Monitoring (project {project}): {type(exc).__name__}: {exc.message}"
        ) from None
    return report
