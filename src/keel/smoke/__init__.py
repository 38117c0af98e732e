"""Declarative smoke and latency-regression suites: ``load_suite`` a smoke.yaml, ``run_suite`` it."""

from __future__ import annotations

from keel.smoke.errors import SmokeError, SmokeFailed, TemplateError
from keel.smoke.regression import compare_suite
from keel.smoke.report import (
    CheckResult,
    ComparisonResult,
    Failure,
    FailureKind,
    LatencyResult,
    Outcome,
    SmokeReport,
)
from keel.smoke.runner import run_suite
from keel.smoke.suite import Suite, load_suite, parse_suite

__all__ = [
    "CheckResult",
    "ComparisonResult",
    "Failure",
    "FailureKind",
    "LatencyResult",
    "Outcome",
    "SmokeError",
    "SmokeFailed",
    "SmokeReport",
    "Suite",
    "TemplateError",
    "compare_suite",
    "load_suite",
    "parse_suite",
    "run_suite",
]
