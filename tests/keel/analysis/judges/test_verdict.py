from keel.analysis.base import MetricResult, Outcome
from keel.analysis.judges.verdict import combine, window_facts
from tests.keel.analysis.judges.helpers import window

P, F, WAIT = Outcome.PASS, Outcome.FAIL, Outcome.INCONCLUSIVE


def _m(name: str, outcome: Outcome, critical: bool = True) -> MetricResult:
    return MetricResult(name, outcome, f"{name} {outcome.value}", critical)


def test_a_critical_failure_fails_alone() -> None:
    verdict = combine([_m("a", F), _m("b", P), _m("c", WAIT)], "j", noncritical_failures_to_fail=2)
    assert verdict.outcome is F
    assert verdict.summary == "critical metric failed: a"


def test_non_critical_failures_fail_together() -> None:
    one = combine([_m("a", F, False), _m("b", P)], "j", noncritical_failures_to_fail=2)
    assert one.outcome is P
    assert one.summary == "all metrics passed except non-critical a"
    two = combine([_m("a", F, False), _m("b", F, False), _m("c", P)], "j", noncritical_failures_to_fail=2)
    assert two.outcome is F
    assert "2 metrics failed (a, b)" in two.summary


def test_waiting_metrics_make_it_inconclusive() -> None:
    verdict = combine([_m("a", P), _m("b", WAIT)], "j", noncritical_failures_to_fail=2)
    assert verdict.outcome is WAIT
    assert verdict.summary == "not enough data yet: b"
    assert combine([_m("a", P)], "j", noncritical_failures_to_fail=1).outcome is P


def test_window_facts_quote_counts_and_percentiles() -> None:
    facts = window_facts(window("r1", 1000, 10, median_ms=100.0))
    assert facts["requests"] == 1000 and facts["errors"] == 10 and facts["error_rate"] == 0.01
    assert 85 < facts["p50_ms"] < 115
    assert facts["p50_ms"] < facts["p95_ms"] < facts["p99_ms"]
    empty = window_facts(window("r2", 0, 0))
    assert empty["error_rate"] is None and empty["p99_ms"] is None
