"""``keel dashboard apply``: create or update the Cloud Monitoring dashboard of one service and environment
through the official client (google-cloud-monitoring-dashboards), found again by its keel labels."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keel.errors import KeelError


class DashboardApplyError(KeelError):
    """Cloud Monitoring refused the dashboard; the message names the project and the dashboard."""


@dataclass(frozen=True)
class Applied:
    project: str
    action: str  # created or updated
    name: str  # the dashboard's resource name

    def to_json(self) -> dict[str, str]:
        return {"project": self.project, "action": self.action, "name": self.name}


def _client(api_endpoint: str | None) -> Any:
    from google.cloud import monitoring_dashboard_v1

    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    return monitoring_dashboard_v1.DashboardsServiceClient(client_options=options)


def _same(found: Any, labels: Mapping[str, str]) -> bool:
    keys = ("managed_by", "service", "environment")
    return all(found.labels.get(k) == labels.get(k) for k in keys)


def apply_dashboard(
    document: Mapping[str, Any], project: str, *, client: Any = None, api_endpoint: str | None = None
) -> Applied:
    """Make the project hold ``document`` (the cloudmonitoring export): the dashboard with the same keel
    labels (service, environment) is replaced in place, guarded by its etag; else one is created."""
    from google.api_core import exceptions
    from google.cloud.monitoring_dashboard_v1.types import Dashboard

    client = client or _client(api_endpoint)
    parent = f"projects/{project}"
    dashboard = Dashboard.from_json(json.dumps(document), ignore_unknown_fields=False)
    try:
        found = next((d for d in client.list_dashboards(parent=parent) if _same(d, document["labels"])), None)
        if found is None:
            made = client.create_dashboard(request={"parent": parent, "dashboard": dashboard})
            return Applied(project, "created", made.name)
        dashboard.name = found.name
        dashboard.etag = found.etag
        client.update_dashboard(request={"dashboard": dashboard})
        return Applied(project, "updated", found.name)
    except exceptions.GoogleAPICallError as exc:
        raise DashboardApplyError(
            f"Cloud Monitoring (project {project}): dashboard {document.get('displayName')!r}: "
            f"{type(exc).__name__}: {exc.message}"
        ) from None
