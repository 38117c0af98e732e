"""The Analyzer the engine calls: read both revisions' windows from a source, hand them to a judge."""

from __future__ import annotations

from dataclasses import replace

from keel.analysis.base import (
    Judge,
    LatencyHistogram,
    Look,
    MetricSource,
    Outcome,
    RevisionWindow,
    Verdict,
    WindowFacts,
)
from keel.analysis.validate import window_problems


def cold_start_seconds(cold_start: float, hold_seconds: float) -> float:
    """Seconds at the start of a step whose latency is not judged: ``cold_start``, at most a quarter of the
    step's hold (so a short step keeps most of its data)."""
    return max(0.0, min(cold_start, hold_seconds / 4.0))


def latency_delay(cold_start: float, look: Look) -> float:
    """``cold_start_seconds`` of the step ``look`` is in."""
    return cold_start_seconds(cold_start, look.hold_seconds)


class WindowAnalyzer:
    """Reads the traffic since the step started for the canary (and the baseline) and judges it.

    When the baseline served nothing in the window while the canary did (a step at 100 %, or a baseline that
    is gone) there is nothing to compare with, so ``fallback`` (the threshold judge) decides that look.

    The first ``warmup`` seconds of every step are left out of both windows (a revision's first requests at a
    new weight may be slower while caches and pools fill); a look before the warm-up ends is inconclusive.
    The latency of the first ``cold_start`` seconds of every step (at most a quarter of its hold) is left out
    too, but its requests and errors are judged: a cold start is slow, a crashing release errs from the start.

    A window that is not self-consistent (see ``keel.analysis.validate``), or that the source could not put
    together, makes the look inconclusive with the problem as its reason: never a verdict, never a crash."""

    def __init__(
        self,
        source: MetricSource,
        judge: Judge,
        *,
        fallback: Judge | None = None,
        warmup: float = 0.0,
        cold_start: float = 0.0,
    ) -> None:
        self._source = source
        self._judge = judge
        self._fallback = fallback
        self._warmup = warmup
        self._cold_start = cold_start

    @property
    def judge_name(self) -> str:
        return self._judge.name

    def _inconclusive(self, summary: str) -> Verdict:
        return Verdict(Outcome.INCONCLUSIVE, (), summary, self._judge.name)

    async def _window(
        self, revision: str, start: float, latency_start: float, end: float, problems: list[str]
    ) -> RevisionWindow:
        """The window of ``revision``, its latency from ``latency_start``; every window read from the source
        is checked whole (``problems`` collects what is wrong), even the part whose latency is left out."""
        window = await self._source.window(revision, start, end)
        problems += window_problems(window)
        if latency_start <= start:
            return window
        if latency_start >= end:
            latency = LatencyHistogram.empty(window.latency.bounds)
        else:
            late = await self._source.window(revision, latency_start, end)
            problems += window_problems(late)
            latency = late.latency
        return replace(window, latency=latency)

    async def analyze(self, canary: str, baseline: str | None, look: Look) -> Verdict:
        start, end = look.step_started + self._warmup, look.now
        if end <= start:
            left = start - end
            return self._inconclusive(
                f"warming up: the first {self._warmup:g}s of the step are not judged ({left:.0f}s left)"
            )
        latency_start = max(start, look.step_started + latency_delay(self._cold_start, look))
        problems: list[str] = []
        try:
            canary_window = await self._window(canary, start, latency_start, end, problems)
            baseline_window = None
            if baseline is not None:
                baseline_window = await self._window(baseline, start, latency_start, end, problems)
        except ValueError as exc:  # e.g. a histogram whose buckets changed inside the window
            return self._inconclusive(f"the metric source gave an inconsistent window: {exc}")
        if problems:
            return self._inconclusive("invalid window, not judged: " + "; ".join(dict.fromkeys(problems)))
        verdict = judge_windows(self._judge, canary_window, baseline_window, look, fallback=self._fallback)
        return replace(
            verdict,
            canary=WindowFacts.of(canary_window),
            baseline=WindowFacts.of(baseline_window) if baseline_window is not None else None,
        )


def judge_windows(
    judge: Judge,
    canary: RevisionWindow,
    baseline: RevisionWindow | None,
    look: Look,
    *,
    fallback: Judge | None = None,
) -> Verdict:
    """Check both windows, then judge them (or let ``fallback`` judge the canary alone when the baseline
    served nothing). A window that fails the checks, or that the judge cannot compute on, is inconclusive."""
    problems = window_problems(canary) + (window_problems(baseline) if baseline is not None else [])
    if problems:
        summary = "invalid window, not judged: " + "; ".join(problems)
        return Verdict(Outcome.INCONCLUSIVE, (), summary, judge.name)
    try:
        if (
            fallback is not None
            and judge.name != fallback.name
            and (baseline is None or (baseline.requests == 0 and canary.requests > 0))
        ):
            verdict = fallback.judge(canary, None, look)
            note = "no baseline traffic in the window: judged on thresholds alone"
            return replace(verdict, summary=f"{verdict.summary} ({note})")
        return judge.judge(canary, baseline, look)
    except (ValueError, ArithmeticError) as exc:  # a window the checks let through but no test can use
        return Verdict(Outcome.INCONCLUSIVE, (), f"not judged: {exc}", judge.name)
