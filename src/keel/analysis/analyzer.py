"""The Analyzer the engine calls: read both revisions' windows from a source, hand them to a judge."""

from __future__ import annotations

from dataclasses import replace

from keel.analysis.base import Judge, Look, MetricSource, Outcome, RevisionWindow, Verdict, WindowFacts


class WindowAnalyzer:
    """Reads the traffic since the step started for the canary (and the baseline) and judges it.

    When the baseline served nothing in the window while the canary did (a step at 100 %, or a baseline that
    is gone) there is nothing to compare with, so ``fallback`` (the threshold judge) decides that look.

    The first ``warmup`` seconds of every step are left out of both windows (a revision's first requests at a
    new weight may be slower while caches and pools fill); a look before the warm-up ends is inconclusive."""

    def __init__(
        self, source: MetricSource, judge: Judge, *, fallback: Judge | None = None, warmup: float = 0.0
    ) -> None:
        self._source = source
        self._judge = judge
        self._fallback = fallback
        self._warmup = warmup

    @property
    def judge_name(self) -> str:
        return self._judge.name

    async def analyze(self, canary: str, baseline: str | None, look: Look) -> Verdict:
        start, end = look.step_started + self._warmup, look.now
        if end <= start:
            left = start - end
            return Verdict(
                Outcome.INCONCLUSIVE, (), f"warming up: the first {self._warmup:g}s of the step are not judged "
                f"({left:.0f}s left)", self._judge.name,
            )  # fmt: skip
        canary_window = await self._source.window(canary, start, end)
        baseline_window = None
        if baseline is not None:
            baseline_window = await self._source.window(baseline, start, end)
        verdict = self._decide(canary_window, baseline_window, look)
        return replace(
            verdict,
            canary=WindowFacts.of(canary_window),
            baseline=WindowFacts.of(baseline_window) if baseline_window is not None else None,
        )

    def _decide(
        self, canary_window: RevisionWindow, baseline_window: RevisionWindow | None, look: Look
    ) -> Verdict:
        if (
            self._fallback is not None
            and self._judge.name != self._fallback.name
            and (baseline_window is None or (baseline_window.requests == 0 and canary_window.requests > 0))
        ):
            verdict = self._fallback.judge(canary_window, None, look)
            note = "no baseline traffic in the window: judged on thresholds alone"
            return replace(verdict, summary=f"{verdict.summary} ({note})")
        return self._judge.judge(canary_window, baseline_window, look)
