from __future__ import annotations

import json

from keel.health.base import CheckResult, Status
from keel.health.report import HEALTH_JSON_TYPE, JSON_TYPE, Report, iso, overall, render

T = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def result(name: str, status: Status, *, critical: bool = False, message: str = "m") -> CheckResult:
    return CheckResult(name, status, 12.5, message, critical, T, "datastore")


RESULTS = (
    result("database", Status.HEALTHY, critical=True, message="ok"),
    result("openai", Status.DEGRADED, message="rate limited (HTTP 429)"),
    result("pinecone", Status.DISABLED, message="PINECONE_API_KEY is not set"),
)


def test_overall_is_the_worst_status_and_disabled_counts_as_healthy() -> None:
    assert overall([]) is Status.HEALTHY
    assert overall([result("a", Status.DISABLED)]) is Status.HEALTHY
    assert overall(RESULTS) is Status.DEGRADED
    assert overall([*RESULTS, result("db2", Status.UNHEALTHY, critical=True)]) is Status.UNHEALTHY


def test_summary_and_http_status() -> None:
    report = Report.of("svc", "deep", RESULTS, T)
    assert report.summary == {"total": 3, "healthy": 1, "degraded": 1, "unhealthy": 0, "disabled": 1}
    assert report.http_status == 200
    assert Report("svc", "deep", Status.UNHEALTHY).http_status == 503
    assert result("x", Status.DEGRADED).failing and not result("x", Status.DISABLED).failing


def test_iso_time() -> None:
    assert iso(T) == "2026-01-01T00:00:00.000Z"


def test_deep_json_with_and_without_details() -> None:
    report = Report.of("svc", "deep", RESULTS, T)
    body, content_type = render(report, details=True, ietf=False)
    assert content_type == JSON_TYPE
    data = json.loads(body)
    assert data["status"] == "degraded"
    assert data["timestamp"] == "2026-01-01T00:00:00.000Z"
    assert data["services"]["database"] == {
        "status": "healthy",
        "latency_ms": 12.5,
        "message": "ok",
        "critical": True,
    }
    assert data["summary"]["disabled"] == 1
    public = json.loads(render(report, details=False, ietf=False)[0])
    assert "services" not in public
    assert public["summary"] == data["summary"]
    assert "rate limited" not in render(report, details=False, ietf=False)[0].decode()


def test_readiness_json_lists_statuses_only() -> None:
    report = Report.of("svc", "readiness", RESULTS[:1], T)
    data = json.loads(render(report, details=False, ietf=False)[0])
    assert data == {
        "status": "healthy",
        "app": "svc",
        "check": "readiness",
        "checks": {"database": "healthy"},
    }


def test_messages_and_versions() -> None:
    report = Report("svc", "startup", Status.UNHEALTHY, message="starting", version="1.2.3")
    assert json.loads(render(report, details=False, ietf=False)[0])["message"] == "starting"
    ietf = json.loads(render(report, details=False, ietf=True)[0])
    assert ietf == {
        "status": "fail",
        "serviceId": "svc",
        "description": "svc startup",
        "version": "1.2.3",
        "output": "starting",
    }


def test_ietf_deep_with_details() -> None:
    report = Report.of("svc", "deep", RESULTS, T)
    body, content_type = render(report, details=True, ietf=True)
    assert content_type == HEALTH_JSON_TYPE
    data = json.loads(body)
    assert data["status"] == "warn"
    assert data["checks"]["database:responseTime"] == [
        {
            "componentType": "datastore",
            "observedValue": 12.5,
            "observedUnit": "ms",
            "status": "pass",
            "time": "2026-01-01T00:00:00.000Z",
            "critical": True,
        }
    ]
    assert data["checks"]["openai:responseTime"][0]["status"] == "warn"
    assert data["checks"]["openai:responseTime"][0]["output"] == "rate limited (HTTP 429)"
    assert data["checks"]["pinecone:responseTime"][0]["status"] == "pass"


def test_ietf_deep_without_details_has_counts_only() -> None:
    data = json.loads(render(Report.of("svc", "deep", RESULTS, T), details=False, ietf=True)[0])
    assert "checks" not in data
    assert data["notes"] == ["1 healthy", "1 degraded", "1 disabled"]


def test_ietf_readiness_shows_timings_without_messages() -> None:
    failing = (result("database", Status.UNHEALTHY, critical=True, message="secretive detail"),)
    data = json.loads(render(Report.of("svc", "readiness", failing, T), details=False, ietf=True)[0])
    assert data["status"] == "fail"
    entry = data["checks"]["database:responseTime"][0]
    assert entry["status"] == "fail"
    assert entry["observedValue"] == 12.5
    assert "output" not in entry
