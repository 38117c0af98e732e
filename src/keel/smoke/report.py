"""What a smoke run found: per-check results, latency and comparison results, and the whole report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How one check ended. A skipped check did not run because something it depends on failed."""

    passed = "passed"
    failed = "failed"
    skipped = "skipped"


class FailureKind(StrEnum):
    """Why a check failed: each kind points at a different fix, so the report never lumps them together."""

    wrong_status = "wrong_status"
    assertion_failed = "assertion_failed"
    content_type = "content_type"
    invalid_json = "invalid_json"
    timeout = "timeout"
    connection_refused = "connection_refused"
    connection_closed = "connection_closed"
    connection_error = "connection_error"
    dns_failure = "dns_failure"
    tls_error = "tls_error"
    redirect_loop = "redirect_loop"
    latency = "latency"
    regression = "regression"
    deadline = "deadline"


@dataclass(frozen=True)
class CheckResult:
    """One functional check (or auth / cleanup step): a request and what its answer was judged to be."""

    group: str
    name: str
    method: str
    path: str
    outcome: Outcome
    kind: FailureKind | None = None
    message: str = ""
    status: int | None = None
    duration_s: float = 0.0
    attempts: int = 0

    @property
    def check(self) -> str:
        return f"{self.group}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "group": self.group,
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "outcome": self.outcome.value,
            "kind": self.kind.value if self.kind else None,
            "message": self.message,
            "status": self.status,
            "duration_s": round(self.duration_s, 6),
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class LatencyResult:
    """A latency check: a percentile of N samples (taken after a warm-up) against a threshold."""

    name: str
    method: str
    path: str
    percentile: float
    threshold_s: float
    outcome: Outcome
    samples: tuple[float, ...] = ()
    value_s: float | None = None
    kind: FailureKind | None = None
    message: str = ""

    @property
    def check(self) -> str:
        return f"latency/{self.name}"

    def to_json(self) -> dict[str, Any]:
        from keel.smoke.latency import percentile

        summary = {f"p{q}_s": _round(percentile(self.samples, q)) for q in (50, 95, 99)}
        return {
            "check": self.check,
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "percentile": self.percentile,
            "threshold_s": self.threshold_s,
            "value_s": _round(self.value_s),
            "samples": len(self.samples),
            **summary,
            "max_s": _round(max(self.samples) if self.samples else None),
            "outcome": self.outcome.value,
            "kind": self.kind.value if self.kind else None,
            "message": self.message,
        }


@dataclass(frozen=True)
class ComparisonResult:
    """A latency check run against candidate and baseline, interleaved: the estimated ratio of their
    latencies (candidate / baseline) with a one-sided lower confidence bound, judged against the margin."""

    name: str
    method: str
    path: str
    outcome: Outcome
    margin: float
    confidence: float
    ratio: float | None = None
    lower_bound: float | None = None
    upper_bound: float | None = None
    candidate: tuple[float, ...] = ()
    baseline: tuple[float, ...] = ()
    kind: FailureKind | None = None
    message: str = ""

    @property
    def check(self) -> str:
        return f"compare/{self.name}"

    def to_json(self) -> dict[str, Any]:
        from keel.smoke.latency import percentile

        return {
            "check": self.check,
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "samples": min(len(self.candidate), len(self.baseline)),
            "ratio": _round(self.ratio),
            "lower_bound": _round(self.lower_bound),
            "upper_bound": _round(self.upper_bound),
            "margin": self.margin,
            "confidence": self.confidence,
            "candidate_p50_s": _round(percentile(self.candidate, 50)),
            "baseline_p50_s": _round(percentile(self.baseline, 50)),
            "candidate_p95_s": _round(percentile(self.candidate, 95)),
            "baseline_p95_s": _round(percentile(self.baseline, 95)),
            "outcome": self.outcome.value,
            "kind": self.kind.value if self.kind else None,
            "message": self.message,
        }


@dataclass(frozen=True)
class Failure:
    """One failed check, whatever its type: what the deploy gate and the CLI summary look at."""

    check: str
    kind: FailureKind
    message: str


Result = CheckResult | LatencyResult | ComparisonResult


@dataclass(frozen=True)
class SmokeReport:
    """The outcome of one suite run. ``passed`` holds only when nothing failed and something ran."""

    suite: str
    base_url: str
    started_at: str
    duration_s: float
    checks: tuple[CheckResult, ...] = ()
    latency: tuple[LatencyResult, ...] = ()
    comparisons: tuple[ComparisonResult, ...] = ()
    baseline_url: str | None = None
    deadline_s: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def results(self) -> Sequence[Result]:
        return (*self.checks, *self.latency, *self.comparisons)

    @property
    def failures(self) -> tuple[Failure, ...]:
        return tuple(
            Failure(r.check, r.kind or FailureKind.assertion_failed, r.message)
            for r in self.results
            if r.outcome is Outcome.failed
        )

    @property
    def counts(self) -> dict[str, int]:
        counts = {o.value: 0 for o in Outcome}
        for r in self.results:
            counts[r.outcome.value] += 1
        return {"total": len(self.results), **counts}

    @property
    def passed(self) -> bool:
        """True when no check failed and at least one check ran: a suite that checks nothing fails."""
        counts = self.counts
        return counts["failed"] == 0 and counts["passed"] > 0

    def to_json(self) -> dict[str, Any]:
        """The stable JSON document CI pipelines parse (documented in docs/architecture.md)."""
        return {
            "schema": "keel.smoke/v1",
            "suite": self.suite,
            "base_url": self.base_url,
            "baseline_url": self.baseline_url,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 6),
            "deadline_s": self.deadline_s,
            "passed": self.passed,
            "summary": self.counts,
            "failures": [
                {"check": f.check, "kind": f.kind.value, "message": f.message} for f in self.failures
            ],
            "checks": [c.to_json() for c in self.checks],
            "latency": [c.to_json() for c in self.latency],
            "comparisons": [c.to_json() for c in self.comparisons],
            "notes": list(self.notes),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
