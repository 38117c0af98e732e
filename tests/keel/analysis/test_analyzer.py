import numpy as np
import pytest

from keel.analysis.analyzer import WindowAnalyzer
from keel.analysis.base import AnalysisError, Look, Outcome, RevisionWindow
from keel.analysis.config import AnalysisSpec, build_analyzer
from keel.analysis.sources.memory import MemorySource


def _traffic(
    source: MemorySource, revision: str, seconds: int, per_second: int, error_rate: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    for t in range(seconds):
        source.record(
            revision,
            1000.0 + t,
            latencies=rng.lognormal(np.log(0.1), 0.5, per_second),
            errors=int(rng.binomial(per_second, error_rate)),
        )


async def test_compares_canary_with_baseline_over_the_step_window() -> None:
    source = MemorySource()
    _traffic(source, "stable", 600, 18, 0.01, 1)
    _traffic(source, "canary", 600, 2, 0.10, 2)
    analyzer = build_analyzer(AnalysisSpec(), source, has_baseline=True)
    verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 1000.0, 1599.0, 600.0))
    assert verdict.judge == "compare"
    assert verdict.outcome is Outcome.FAIL
    errors = verdict.metrics[0]
    assert errors.data["canary"]["requests"] == 1200
    assert errors.data["baseline"]["requests"] == 10800


async def test_only_the_window_since_the_step_started_counts() -> None:
    source = MemorySource()
    _traffic(source, "canary", 600, 2, 0.0, 3)
    analyzer = build_analyzer(AnalysisSpec(), source, has_baseline=False)
    verdict = await analyzer.analyze("canary", None, Look(0, 1, 1500.0, 1599.0, 600.0))
    assert verdict.judge == "thresholds"
    assert verdict.metrics[0].data["canary"]["requests"] == 200  # 100 s x 2 requests/s
    assert verdict.outcome is Outcome.PASS
    verdict = await analyzer.analyze("canary", None, Look(0, 1, 1560.0, 1599.0, 600.0))
    assert verdict.metrics[0].data["canary"]["requests"] == 80
    assert verdict.outcome is Outcome.INCONCLUSIVE


async def test_no_baseline_traffic_falls_back_to_thresholds() -> None:
    source = MemorySource()
    _traffic(source, "canary", 300, 2, 0.05, 4)
    analyzer = build_analyzer(AnalysisSpec(), source, has_baseline=True)
    verdict = await analyzer.analyze("canary", "stable", Look(2, 1, 1000.0, 1299.0, 300.0))
    assert verdict.judge == "thresholds"
    assert verdict.outcome is Outcome.FAIL
    assert "no baseline traffic" in verdict.summary


async def test_no_data_at_all_is_inconclusive() -> None:
    analyzer = build_analyzer(AnalysisSpec(), MemorySource(), has_baseline=True)
    verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 0.0, 60.0, 600.0))
    assert verdict.outcome is Outcome.INCONCLUSIVE


class _Down:
    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        raise AnalysisError(f"prometheus http://127.0.0.1:1: cannot read {revision}")


async def test_source_errors_propagate() -> None:
    from keel.analysis.judges.thresholds import ThresholdJudge

    analyzer = WindowAnalyzer(_Down(), ThresholdJudge(AnalysisSpec()))
    with pytest.raises(AnalysisError, match="cannot read canary"):
        await analyzer.analyze("canary", None, Look(0, 1, 0.0, 60.0, 600.0))


async def test_the_warmup_of_each_step_is_left_out_of_both_windows() -> None:
    # the canary's first 60 s at its new weight are 3x slower (cold caches), then it is like the stable one
    source = MemorySource()
    _traffic(source, "stable", 600, 18, 0.0, 5)
    rng = np.random.default_rng(6)
    for t in range(600):
        slow = 3.0 if t < 60 else 1.0
        source.record("canary", 1000.0 + t, latencies=rng.lognormal(np.log(0.1 * slow), 0.5, 2))
    end = Look(0, 20, 1000.0, 1599.0, 600.0)
    no_allowance = AnalysisSpec(cold_start=0.0)  # the latency of the first minute judged too (issue 14)
    cold = await build_analyzer(no_allowance, source, has_baseline=True).analyze("canary", "stable", end)
    assert cold.outcome is Outcome.FAIL  # without a warm-up the cold start fails the release
    warm = build_analyzer(AnalysisSpec(warmup=90.0), source, has_baseline=True)
    verdict = await warm.analyze("canary", "stable", end)
    assert verdict.outcome is Outcome.PASS, verdict.summary
    assert verdict.metrics[0].data["canary"]["requests"] == 2 * (600 - 90)
    early = await warm.analyze("canary", "stable", Look(0, 1, 1000.0, 1030.0, 600.0))
    assert early.outcome is Outcome.INCONCLUSIVE and early.summary.startswith("warming up: the first 90s")


def _cold_canary(source: MemorySource, slow_seconds: int, factor: float, seed: int) -> None:
    """A canary ``factor`` x slower for its first ``slow_seconds`` (cold caches), then like the stable one."""
    rng = np.random.default_rng(seed)
    for t in range(600):
        slow = factor if t < slow_seconds else 1.0
        source.record("canary", 1000.0 + t, latencies=rng.lognormal(np.log(0.1 * slow), 0.5, 4))


async def test_a_cold_start_is_not_rolled_back_with_the_defaults() -> None:
    # issue 14, finding 4: 2x slower for the first 30 s; with the defaults (cold_start 60 s, warm-up 0) the
    # latency of the first minute is not judged, so no look of the step fails
    source = MemorySource()
    _traffic(source, "stable", 600, 36, 0.0, 7)
    _cold_canary(source, 30, 2.0, 8)
    analyzer = build_analyzer(AnalysisSpec(), source, has_baseline=True)
    for now in range(1030, 1600, 30):
        verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 1000.0, float(now), 600.0))
        assert verdict.outcome is not Outcome.FAIL, (now, verdict.summary)
        if now < 1060:
            latency = {m.metric: m for m in verdict.metrics}["latency"]
            assert latency.outcome is Outcome.INCONCLUSIVE and latency.reason == "no latency samples yet"
    assert verdict.outcome is Outcome.PASS
    # its requests were counted from the start of the step: errors are judged through the cold start
    assert verdict.metrics[0].data["canary"]["requests"] == 4 * 571  # the window [1000, 1570]
    # a release that stays slow is still caught
    slow = MemorySource()
    _traffic(slow, "stable", 600, 36, 0.0, 7)
    _cold_canary(slow, 600, 1.3, 9)
    verdict = await build_analyzer(AnalysisSpec(), slow, has_baseline=True).analyze(
        "canary", "stable", Look(0, 1, 1000.0, 1180.0, 600.0)
    )
    assert verdict.outcome is Outcome.FAIL, verdict.summary


def test_the_latency_delay_is_at_most_a_quarter_of_the_hold() -> None:
    from keel.analysis.analyzer import latency_delay

    assert latency_delay(60.0, Look(0, 1, 0.0, 10.0, 600.0)) == 60.0
    assert latency_delay(60.0, Look(0, 1, 0.0, 10.0, 120.0)) == 30.0
    assert latency_delay(0.0, Look(0, 1, 0.0, 10.0, 120.0)) == 0.0


class _Fixed:
    """A source that returns given windows (whatever the span asked for)."""

    def __init__(self, windows: dict[str, RevisionWindow]) -> None:
        self.windows = windows

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        return self.windows[revision]


def _window(revision: str, requests: float, errors: float, counts: tuple[float, ...], bounds=None):  # type: ignore[no-untyped-def]
    from keel.analysis.base import LatencyHistogram

    bounds = bounds or (0.05, 0.1, 0.2, 0.5, float("inf"))
    return RevisionWindow(revision, 0.0, 600.0, requests, errors, LatencyHistogram(bounds, counts))  # type: ignore[arg-type]


GOOD_BASELINE = (2000, 4000, 3000, 900, 100)
NAN, INF = float("nan"), float("inf")
INVALID = {
    "NaN requests": (_window("canary", NAN, 60, (200, 400, 300, 90, 10)), "canary: requests is nan"),
    "infinite errors": (_window("canary", 1000, INF, (200, 400, 300, 90, 10)), "canary: errors is inf"),
    "negative requests": (_window("canary", -5, 0, (200, 400, 300, 90, 10)), "canary: requests is negative"),
    "more errors than requests": (
        _window("canary", 1000, 1200, (200, 400, 300, 90, 10)),
        "canary: 1200 errors but only 1000 requests",
    ),
    "negative bucket": (_window("canary", 1000, 10, (200, 400, -3, 90, 10)), "count is negative (-3)"),
    "NaN bucket count": (_window("canary", 1000, 10, (200, NAN, 300, 90, 10)), "count is nan"),
    "NaN bucket bound": (
        _window("canary", 1000, 10, (200, 400, 300, 90, 10), bounds=(0.05, NAN, 0.2, 0.5, INF)),
        "latency bucket 1 has bound nan",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
async def test_an_invalid_window_is_inconclusive_with_its_reason(case: str) -> None:
    # issue 14, finding 3: a canary erring at 5 % behind the nonsense; never a pass, never a crash
    canary, reason = INVALID[case]
    baseline = _window("stable", 10000, 100, GOOD_BASELINE)
    analyzer = build_analyzer(
        AnalysisSpec(), _Fixed({"canary": canary, "stable": baseline}), has_baseline=True
    )
    verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 0.0, 600.0, 600.0))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.summary.startswith("invalid window, not judged:") and reason in verdict.summary


async def test_an_invalid_baseline_is_inconclusive_too() -> None:
    # errors > requests on the baseline would hide a canary's regression
    canary = _window("canary", 1000, 50, (200, 400, 300, 90, 10))
    baseline = _window("stable", 10000, 20000, GOOD_BASELINE)
    analyzer = build_analyzer(
        AnalysisSpec(), _Fixed({"canary": canary, "stable": baseline}), has_baseline=True
    )
    verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 0.0, 600.0, 600.0))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "stable: 20000 errors but only 10000 requests" in verdict.summary


class _Inconsistent:
    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        raise ValueError("histograms have different bounds")


async def test_a_window_the_source_cannot_put_together_is_inconclusive() -> None:
    analyzer = build_analyzer(AnalysisSpec(), _Inconsistent(), has_baseline=True)
    verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 0.0, 600.0, 600.0))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert (
        verdict.summary == "the metric source gave an inconsistent window: histograms have different bounds"
    )


class _Raising:
    name = "compare"

    def judge(self, canary: RevisionWindow, baseline: RevisionWindow | None, look: Look):  # type: ignore[no-untyped-def]
        raise ValueError("both histograms need at least one request")


async def test_a_judge_that_cannot_compute_is_inconclusive_not_a_crash() -> None:
    canary = _window("canary", 1000, 10, (200, 400, 300, 90, 10))
    baseline = _window("stable", 10000, 100, GOOD_BASELINE)
    analyzer = WindowAnalyzer(_Fixed({"canary": canary, "stable": baseline}), _Raising())
    verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 0.0, 600.0, 600.0))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.summary == "not judged: both histograms need at least one request"


async def test_a_window_is_checked_whole_even_while_its_latency_is_left_out() -> None:
    # during the cold start the latency histogram is not judged, but a source that sends a negative bucket
    # count is not trusted for the errors either (issue 14: no verdict from an invalid window)
    canary = _window("canary", 1000, 500, (200, 400, -3, 90, 10))  # a 50 % error rate: would fail at once
    baseline = _window("stable", 10000, 100, GOOD_BASELINE)
    analyzer = build_analyzer(
        AnalysisSpec(), _Fixed({"canary": canary, "stable": baseline}), has_baseline=True
    )
    verdict = await analyzer.analyze("canary", "stable", Look(0, 1, 0.0, 30.0, 600.0))
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "count is negative (-3)" in verdict.summary
