"""A traffic source and a service probe with fixed answers, for the dashboard's API and page tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keel.analysis.base import LatencyHistogram, RevisionWindow

BOUNDS = (0.1, 0.5, float("inf"))


@dataclass(frozen=True)
class Named:
    name: str
    url: str = "http://rev.invalid"


class FixedWindows:
    """One revision; the first half of any span has (100 requests, 1 error, latency 90/9/1 in BOUNDS), the
    second half (50, 0, 50/0/0)."""

    def __init__(self, middle: float) -> None:
        self.middle = middle

    async def revisions(self) -> list[Named]:
        return [Named("svc-00001-abc")]

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        if end <= self.middle:
            return RevisionWindow(revision, start, end, 100, 1, LatencyHistogram(BOUNDS, (90, 9, 1)))
        return RevisionWindow(revision, start, end, 50, 0, LatencyHistogram(BOUNDS, (50, 0, 0)))


class FixedProbe:
    async def health(self) -> dict[str, Any]:
        return {
            "readiness": {"url": "http://svc.invalid/health/ready", "ready": True, "status": "healthy",
                          "http_status": 200, "checks": {"database": "healthy"}, "latency_ms": 3.5},
            "dependencies": [
                {"name": "database", "status": "healthy", "latency_ms": 1.25},
                {"name": "sentry", "status": "not configured", "latency_ms": None},
            ],
            "scraped": [], "unreadable": [],
        }  # fmt: skip

    async def errors(self) -> dict[str, Any]:
        from keel.dashboard.service import errors_by_route

        answers = {("GET", "/api/v1/items", "200"): 990.0, ("GET", "/api/v1/items", "503"): 2.0,
                   ("POST", "/api/v1/auth/login", "401"): 8.0}  # fmt: skip
        return {
            "since": "the serving revisions started",
            "scraped": [],
            "unreadable": [],
            **errors_by_route(answers),
        }
