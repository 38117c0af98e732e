from keel.analysis.base import Outcome
from keel.analysis.config import AnalysisSpec, ThresholdsSpec
from keel.analysis.judges.thresholds import ThresholdJudge
from tests.keel.analysis.judges.helpers import look, window

SPEC = AnalysisSpec(thresholds=ThresholdsSpec(min_success_rate=0.99, max_p95=0.3, max_p99=0.5))


def test_passes_within_limits() -> None:
    verdict = ThresholdJudge(SPEC).judge(window("c", 1000, 5), None, look())
    assert verdict.outcome is Outcome.PASS
    assert [m.metric for m in verdict.metrics] == ["success-rate", "latency-p95", "latency-p99"]
    rate = verdict.metrics[0]
    assert rate.data["success_rate"] == 0.995
    assert "99.50% at least 99.00%" in rate.reason


def test_fails_on_success_rate() -> None:
    verdict = ThresholdJudge(SPEC).judge(window("c", 1000, 20), None, look())
    assert verdict.outcome is Outcome.FAIL
    assert verdict.metrics[0].outcome is Outcome.FAIL
    assert "98.00% below the minimum 99.00%" in verdict.metrics[0].reason
    assert "success-rate" in verdict.summary


def test_fails_on_latency_percentile() -> None:
    verdict = ThresholdJudge(SPEC).judge(window("c", 1000, 0, median_ms=250.0), None, look())
    assert verdict.outcome is Outcome.FAIL
    by_name = {m.metric: m for m in verdict.metrics}
    assert by_name["latency-p95"].outcome is Outcome.FAIL
    assert by_name["latency-p95"].data["value_ms"] > 300
    assert "above the limit 300.0 ms" in by_name["latency-p95"].reason


def test_too_few_requests_is_inconclusive_never_pass_or_fail() -> None:
    judge = ThresholdJudge(SPEC)
    for errors in (0, 50):  # even 50 % errors on 99 requests: not judged
        verdict = judge.judge(window("c", 99, errors), None, look())
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert all(m.outcome is Outcome.INCONCLUSIVE for m in verdict.metrics)
        assert "99 requests, 100 needed" in verdict.metrics[0].reason
    verdict = judge.judge(window("c", 0, 0), None, look())
    assert verdict.outcome is Outcome.INCONCLUSIVE


def test_percentiles_only_when_configured() -> None:
    verdict = ThresholdJudge(AnalysisSpec()).judge(window("c", 500, 0, median_ms=5000.0), None, look())
    assert [m.metric for m in verdict.metrics] == ["success-rate"]
    assert verdict.outcome is Outcome.PASS


def test_verdict_json_shape() -> None:
    data = ThresholdJudge(SPEC).judge(window("c", 1000, 20), None, look()).to_json()
    assert data["outcome"] == "fail"
    assert data["judge"] == "thresholds"
    first = data["metrics"][0]
    assert first["metric"] == "success-rate"
    assert first["data"]["canary"]["requests"] == 1000
    assert first["data"]["test"] == "threshold"
