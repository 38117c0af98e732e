"""The rollout report (stable JSON for CI) and its Markdown summary."""

from __future__ import annotations

import math
from pathlib import Path

from keel.analysis.base import LatencyHistogram, Look, Outcome, RevisionWindow, WindowFacts
from keel.analysis.config import AnalysisSpec, ThresholdsSpec
from keel.analysis.judges.compare import CompareJudge
from keel.analysis.judges.thresholds import ThresholdJudge
from keel.rollout.markdown import rollout_markdown as markdown
from keel.rollout.report import build_report, exit_code
from keel.rollout.runner import new_deploy, run_to_rest
from tests.keel.rollout.fakes import STEPS, Rig


async def test_report_and_markdown_of_a_rollback(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.platform.add_serving("svc-00000-old")
    rig.outcome = lambda canary, look: Outcome.FAIL
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="aaaaaaaa"
    )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    data = build_report(
        rig.store, final, notify_failures=["slack (rolled_back): timed out after 3s"]
    ).to_json()
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
    data = build_report(rig.store, final).to_json()
    assert data["exit_code"] == 0 and data["first_deploy"] and data["rollback"] is None
    assert "| previous | none (first deploy) |" in markdown(data)


async def test_report_traffic_timeline_of_a_promotion_and_a_rollback(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.platform.add_serving("svc-00000-old")
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="cccccccc"
    )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    points = build_report(rig.store, final).to_json()["traffic"]
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
    data = build_report(rig.store, final).to_json()
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


def test_verdicts_carry_typed_facts_and_the_threshold_judges_limits() -> None:
    look = Look(step=0, look=1, step_started=0.0, now=30.0, hold_seconds=60.0)
    spec = AnalysisSpec(thresholds=ThresholdsSpec(min_success_rate=0.95, max_p95=0.2))
    verdict = ThresholdJudge(spec).judge(_window("new", 200, 4, 0), None, look)
    assert verdict.limits == {"max_error_rate": 0.05, "max_p95_ms": 200.0}
    facts = WindowFacts.of(_window("new", 200, 4, 0))
    assert facts.requests == 200 and facts.error_rate == 0.02
    verdict = CompareJudge(AnalysisSpec()).judge(
        _window("new", 200, 20, 100), _window("old", 1800, 2, 0), look
    )
    assert verdict.limits == {}  # relative to the baseline: no fixed limits
    assert type(verdict).from_json(verdict.to_json()) == verdict


async def test_the_analyzer_attaches_both_windows_facts(tmp_path: Path) -> None:
    from keel.analysis.analyzer import WindowAnalyzer
    from keel.analysis.sources.memory import MemorySource

    source = MemorySource()
    for second in range(0, 60, 5):
        source.record("old", float(second), latencies=[0.01] * 90)
        source.record("new", float(second), latencies=[0.3] * 10, errors=1)
    analyzer = WindowAnalyzer(source, CompareJudge(AnalysisSpec()), fallback=ThresholdJudge(AnalysisSpec()))
    verdict = await analyzer.analyze("new", "old", Look(0, 1, 0.0, 60.0, 60.0))
    assert verdict.canary is not None and verdict.baseline is not None
    assert verdict.canary.requests == 120 and verdict.canary.errors == 12
    assert verdict.baseline.requests == 1080 and verdict.canary.p95_ms > verdict.baseline.p95_ms  # type: ignore[operator]


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
    data = build_report(rig.store, final).to_json()
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
    deciding = build_report(rig.store, final).deciding_metrics()
    assert [m[:2] for m in deciding] == [("error-rate", "fail")]  # what keel deploy prints
    text = markdown(data)
    assert "Last look (compare judge):" in text
    assert "| error-rate | fail | error rate up: canary" in text


async def test_the_environments_declared_limits_reach_the_summary(tmp_path: Path) -> None:
    from keel.platforms.cloudrun import CloudRunConfig

    config = CloudRunConfig(
        platform="cloudrun",
        project="p",
        region="r",
        service="s",
        optional_unconfigured=("openai", "pinecone"),
    )
    (note,) = config.release_notes()
    assert note.endswith("openai, pinecone")
    rig = Rig(tmp_path)
    rollout = new_deploy(
        rig.store, service="svc", environment="prod", steps=STEPS, clock=rig.clock, token="nnnnnnnn"
    )
    final = await run_to_rest(rig.engine(rollout), rig.clock, rig.clock.sleep)
    report = build_report(rig.store, final, notes=[note])
    assert report.to_json()["notes"] == [note]
    assert f"> {note}" in report.to_markdown()
