"""The rollout report (stable JSON for CI) and its Markdown summary."""

from __future__ import annotations

import math
from pathlib import Path

from keel.analysis.base import LatencyHistogram, Look, Outcome, RevisionWindow
from keel.analysis.config import AnalysisSpec, ThresholdsSpec
from keel.analysis.judges.compare import CompareJudge
from keel.analysis.judges.thresholds import ThresholdJudge
from keel.rollout.runner import new_deploy, run_to_rest
from keel.rollout.summary import deciding_metrics, exit_code, look_facts, markdown, report
from tests.keel.rollout.fakes import STEPS, Rig


async def test_report_and_markdown_of_a_rollback(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.platform.add_serving("svc-00000-old")
    rig.outcome = lambda canary, look: Outcome.FAIL
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="aaaaaaaa"
    )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    data = report(rig.store, final, ["slack (rolled_back): timed out after 3s"])
    assert data["schema"] == "keel.rollout/v1"
    assert data["phase"] == "rolled_back" and data["exit_code"] == 1 == exit_code(final)
    assert data["cause"].startswith("analysis failed at 10%")
    assert data["rollback"]["target"] == "svc-00000-old" and data["rollback"]["verified"]
    assert data["rollback"]["seconds_from_failure_to_switch"] == 0.0
    assert [v["outcome"] for v in data["verdicts"]] == ["fail"]
    assert data["transitions"][0]["from"] == "pending"
    text = markdown(data)
    assert text.startswith("### keel deploy: svc → prod: ↩️ rolled back")
    assert "| cause | analysis failed at 10%" in text
    assert "**Rollback** to `svc-00000-old` (analysis): verified ready" in text
    assert "Notification failures: slack (rolled_back): timed out after 3s" in text


async def test_report_of_a_first_deploy(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="bbbbbbbb"
    )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    data = report(rig.store, final)
    assert data["exit_code"] == 0 and data["first_deploy"] and data["rollback"] is None
    assert "| previous | none (first deploy) |" in markdown(data)


async def test_report_traffic_timeline_of_a_promotion_and_a_rollback(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.platform.add_serving("svc-00000-old")
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="cccccccc"
    )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    points = report(rig.store, final)["traffic"]
    assert [(p["weight"], p["event"]) for p in points] == [
        (0, "start"),
        (10, "step 1: 10%"),
        (50, "step 2: 50%"),
        (100, "step 3: 100%"),
    ]
    times = [p["t_s"] for p in points]
    assert times == sorted(times) and times[2] - times[1] >= 60  # step 1 held 60 s

    rig.outcome = lambda canary, look: Outcome.FAIL
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="dddddddd"
    )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    data = report(rig.store, final)
    assert [(p["weight"], p["event"]) for p in data["traffic"]] == [
        (0, "start"),
        (10, "step 1: 10%"),
        (0, "rolled back"),
    ]
    assert data["traffic"][-1]["t_s"] == round(final.switched_at - final.created, 3)
    look = data["verdicts"][0]
    assert look["canary"] is None and look["baseline"] is None and look["limits"] == {}  # scripted: no data
    assert 0 <= look["t_s"] <= data["duration_s"]


def _window(name: str, requests: int, errors: int, slow: int) -> RevisionWindow:
    bounds = (0.05, 0.5, math.inf)
    return RevisionWindow(
        name, 0.0, 60.0, requests, errors, LatencyHistogram(bounds, (requests - slow, slow, 0))
    )


def test_look_facts_of_the_threshold_and_compare_judges() -> None:
    look = Look(step=0, look=1, step_started=0.0, now=30.0, hold_seconds=60.0)
    spec = AnalysisSpec(thresholds=ThresholdsSpec(min_success_rate=0.95, max_p95=0.2))
    verdict = ThresholdJudge(spec).judge(_window("new", 200, 4, 0), None, look).to_json()
    facts = look_facts(verdict, 12.5)
    assert facts["t_s"] == 12.5 and facts["baseline"] is None
    assert facts["canary"]["requests"] == 200 and facts["canary"]["error_rate"] == 0.02
    assert facts["limits"] == {"max_error_rate": 0.05, "max_p95_ms": 200.0}

    verdict = (
        CompareJudge(AnalysisSpec())
        .judge(_window("new", 200, 20, 100), _window("old", 1800, 2, 0), look)
        .to_json()
    )
    facts = look_facts(verdict, 3.0)
    assert facts["canary"]["error_rate"] == 0.1 and facts["baseline"]["error_rate"] == round(2 / 1800, 6)
    assert facts["canary"]["p95_ms"] > facts["baseline"]["p95_ms"]
    assert facts["limits"] == {}


async def test_report_carries_the_deciding_verdict_with_every_metrics_reasons(tmp_path: Path) -> None:
    from keel.analysis.analyzer import WindowAnalyzer
    from keel.analysis.sources.memory import MemorySource

    rig = Rig(tmp_path)
    rig.platform.add_serving("svc-00000-old")
    source = MemorySource()
    rig.analyzer = WindowAnalyzer(  # type: ignore[assignment]
        source, CompareJudge(AnalysisSpec()), fallback=ThresholdJudge(AnalysisSpec())
    )
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="eeeeeeee"
    )
    # the canary fails 12 of its first 40 requests, the stable revision none of 400: a clear regression,
    # failed by the sequential error test before min_requests (100) is reached
    for second in range(0, 3600, 5):
        at = rig.clock.now + second
        source.record("svc-00000-old", at, latencies=[0.1] * 50)
        source.record(rollout.revision, at, latencies=[0.1] * 5, errors=int(second % 10 == 0) * 3)
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    data = report(rig.store, final)
    assert data["phase"] == "rolled_back" and data["failed_by"] == "analysis"
    last = data["last_verdict"]
    assert last["outcome"] == "fail" and last["judge"] == "compare"
    metrics = {m["metric"]: m for m in last["metrics"]}
    assert set(metrics) == {"error-rate", "latency", "latency-tail"}
    errors = metrics["error-rate"]
    assert errors["outcome"] == "fail" and errors["data"]["decided_by"] == "sequential"
    assert errors["data"]["p_value"] < errors["data"]["alpha"]
    assert errors["data"]["canary_requests"] < 100 and errors["data"]["baseline_events"] == 0
    assert {"test", "rule", "effect", "rate_ratio_ci"} <= set(errors["data"])
    assert metrics["latency"]["outcome"] == "inconclusive"
    look = data["verdicts"][-1]
    assert look["judge"] == "compare"
    assert [m["metric"] for m in look["metrics"]] == ["error-rate", "latency", "latency-tail"]
    assert look["metrics"][0]["reason"].startswith("error rate up: canary")
    assert [m[:2] for m in deciding_metrics(data)] == [("error-rate", "fail")]  # what keel deploy prints
    text = markdown(data)
    assert "Last look (compare judge):" in text
    assert "| error-rate | fail | error rate up: canary" in text
