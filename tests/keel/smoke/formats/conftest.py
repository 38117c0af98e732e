"""A report with one of everything: passed, failed and skipped checks, latency and a comparison."""

from __future__ import annotations

import pytest

from keel.smoke import CheckResult, ComparisonResult, FailureKind, LatencyResult, Outcome, SmokeReport


def sample_report() -> SmokeReport:
    return SmokeReport(
        suite="demo",
        base_url="http://127.0.0.1:8080",
        started_at="2026-11-28T18:00:00+00:00",
        duration_s=1.25,
        checks=(
            CheckResult(
                "health", "health", "GET", "/health", Outcome.passed, status=200, duration_s=0.01, attempts=1
            ),
            CheckResult(
                "api",
                "items",
                "GET",
                "/items?a=1|2",
                Outcome.failed,
                FailureKind.assertion_failed,
                'items: expected length <= 5, got 7 | <b>&"',
                status=200,
                duration_s=0.02,
                attempts=1,
            ),
            CheckResult(
                "flow", "remove", "DELETE", "/things/${id}", Outcome.skipped, None, "skipped: earlier step"
            ),
        ),
        latency=(
            LatencyResult(
                "health",
                "GET",
                "/health",
                95,
                0.1,
                Outcome.passed,
                (0.01, 0.02, 0.03),
                0.029,
                None,
                "p95 29 ms",
            ),
        ),
        comparisons=(
            ComparisonResult(
                name="health",
                method="GET",
                path="/health",
                outcome=Outcome.failed,
                margin=0.1,
                confidence=0.95,
                ratio=1.3,
                lower_bound=1.2,
                upper_bound=1.4,
                candidate=(0.013,) * 10,
                baseline=(0.010,) * 10,
                kind=FailureKind.regression,
                message="slower: candidate/baseline 1.300",
            ),
        ),
        baseline_url="http://127.0.0.1:9090",
        deadline_s=20.0,
    )


@pytest.fixture
def report() -> SmokeReport:
    return sample_report()
