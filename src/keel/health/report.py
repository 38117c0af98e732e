"""Aggregate check results into a report and render it as keel JSON or the IETF health+json draft."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keel.health.base import CheckResult, Status

JSON_TYPE = "application/json"
HEALTH_JSON_TYPE = "application/health+json"

_IETF_STATUS = {
    Status.HEALTHY: "pass",
    Status.DISABLED: "pass",
    Status.DEGRADED: "warn",
    Status.UNHEALTHY: "fail",
}


def overall(results: Sequence[CheckResult]) -> Status:
    """The worst status of the results; disabled checks count as healthy (they were declared absent)."""
    worst = Status.HEALTHY
    for result in results:
        if result.status.rank > worst.rank:
            worst = result.status
    return worst


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Report:
    """One endpoint's answer: which probe it was, the overall status and the per-check results."""

    app: str
    check: str  # liveness, startup, readiness, deep
    status: Status
    results: tuple[CheckResult, ...] = ()
    checked_at: float = 0.0
    message: str = ""
    version: str = ""

    @classmethod
    def of(
        cls, app: str, check: str, results: Sequence[CheckResult], checked_at: float, version: str = ""
    ) -> Report:
        return cls(app, check, overall(results), tuple(results), checked_at, version=version)

    @property
    def http_status(self) -> int:
        """503 only when a critical dependency is unhealthy (optional failures are only degraded)."""
        return 503 if self.status is Status.UNHEALTHY else 200

    @property
    def summary(self) -> dict[str, int]:
        counts = {"total": len(self.results)} | {s.value: 0 for s in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return {k: counts[k] for k in ("total", "healthy", "degraded", "unhealthy", "disabled")}


def render(report: Report, *, details: bool, ietf: bool) -> tuple[bytes, str]:
    """The response body and content type for a report; ``details`` adds per-check messages."""
    if ietf:
        return _dump(to_ietf(report, details=details)), HEALTH_JSON_TYPE
    return _dump(to_json(report, details=details)), JSON_TYPE


def to_json(report: Report, *, details: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"status": report.status.value, "app": report.app, "check": report.check}
    if report.message:
        body["message"] = report.message
    if report.check == "readiness":
        body["checks"] = {r.name: r.status.value for r in report.results}
    elif report.check == "deep":
        body["timestamp"] = iso(report.checked_at)
        body["summary"] = report.summary
        if details:
            body["services"] = {
                r.name: {
                    "status": r.status.value,
                    "latency_ms": r.latency_ms,
                    "message": r.message,
                    "critical": r.critical,
                }
                for r in report.results
            }
    return body


def to_ietf(report: Report, *, details: bool) -> dict[str, Any]:
    """draft-inadarei-api-health-check: pass/warn/fail and ``checks`` keyed ``component:responseTime``."""
    body: dict[str, Any] = {
        "status": _IETF_STATUS[report.status],
        "serviceId": report.app,
        "description": f"{report.app} {report.check}",
    }
    if report.version:
        body["version"] = report.version
    if report.message:
        body["output"] = report.message
    if report.results and (details or report.check == "readiness"):
        checks: dict[str, list[dict[str, Any]]] = {}
        for r in report.results:
            entry: dict[str, Any] = {
                "componentType": r.component_type,
                "observedValue": r.latency_ms,
                "observedUnit": "ms",
                "status": _IETF_STATUS[r.status],
                "time": iso(r.checked_at),
            }
            if details:
                entry["critical"] = r.critical
                if r.status is not Status.HEALTHY:
                    entry["output"] = r.message
            checks[f"{r.name}:responseTime"] = [entry]
        body["checks"] = checks
    elif report.check == "deep":
        body["notes"] = [
            f"{count} {state}" for state, count in report.summary.items() if state != "total" and count
        ]
    return body


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
