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
    cold = await build_analyzer(AnalysisSpec(), source, has_baseline=True).analyze("canary", "stable", end)
    assert cold.outcome is Outcome.FAIL  # without a warm-up the cold start fails the release
    warm = build_analyzer(AnalysisSpec(warmup=90.0), source, has_baseline=True)
    verdict = await warm.analyze("canary", "stable", end)
    assert verdict.outcome is Outcome.PASS, verdict.summary
    assert verdict.metrics[0].data["canary"]["requests"] == 2 * (600 - 90)
    early = await warm.analyze("canary", "stable", Look(0, 1, 1000.0, 1030.0, 600.0))
    assert early.outcome is Outcome.INCONCLUSIVE and early.summary.startswith("warming up: the first 90s")
