"""Combining per-metric findings into one verdict, and the window facts every reason quotes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keel.analysis.base import MetricResult, Outcome, RevisionWindow, Verdict, WindowFacts


def window_facts(window: RevisionWindow) -> dict[str, Any]:
    """What a reason shows about one revision's traffic: counts, error rate and latency percentiles (ms)."""
    return WindowFacts.of(window).to_json()


def combine(results: Sequence[MetricResult], judge: str, *, noncritical_failures_to_fail: int) -> Verdict:
    """FAIL when a critical metric fails, or when ``noncritical_failures_to_fail`` other metrics fail at
    once; otherwise INCONCLUSIVE while any metric lacks data; otherwise PASS."""
    failed = [r for r in results if r.outcome is Outcome.FAIL]
    critical = [r for r in failed if r.critical]
    waiting = [r for r in results if r.outcome is Outcome.INCONCLUSIVE]
    if critical:
        names = ", ".join(r.metric for r in critical)
        return Verdict(Outcome.FAIL, tuple(results), f"critical metric failed: {names}", judge)
    if failed and len(failed) >= noncritical_failures_to_fail:
        names = ", ".join(r.metric for r in failed)
        return Verdict(
            Outcome.FAIL,
            tuple(results),
            f"{len(failed)} metrics failed ({names}); {noncritical_failures_to_fail} fail a verdict",
            judge,
        )
    if waiting:
        names = ", ".join(r.metric for r in waiting)
        return Verdict(Outcome.INCONCLUSIVE, tuple(results), f"not enough data yet: {names}", judge)
    summary = "all metrics passed"
    if failed:
        summary += f" except non-critical {', '.join(r.metric for r in failed)}"
    return Verdict(Outcome.PASS, tuple(results), summary, judge)
