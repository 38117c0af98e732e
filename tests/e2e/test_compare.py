"""The comparison judge on real releases: the real Bayit+ API on the real local platform, under steady load.

keel.yaml leaves ``analysis.judge`` at ``auto``: the module's first release has no baseline (it goes to 100 %
after its gates), every later one is judged against the revision serving at the time by the comparison judge
(error rate, latency, latency tail). The load runs throughout: no request may fail because of a traffic change
or a rollback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from keel.store import Store
from tests.e2e.support import (
    ENV,
    Load,
    assert_on_one_healthy_revision,
    deploy,
    free_port,
    keel,
    write_project,
)

pytestmark = pytest.mark.slow

# The judge left at auto; looks every second and min_requests as the threshold e2e tests have them. A slow
# machine only delays the first judged look (30 canary requests at 10 % of the load), so the time a step may
# be held past its hold for lack of data is generous.
AUTO_ANALYSIS = """\
  judge: auto
  interval: 1s
  min_requests: 30
  max_extra_hold: 30s"""
METRICS = ("error-rate", "latency", "latency-tail")
FACTS = ("revision", "requests", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms")


@dataclass
class Env:
    directory: Path
    port: int
    load: Load
    serving: str


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    directory = tmp_path_factory.mktemp("e2e-compare")
    port = free_port()
    write_project(directory, port, analysis=AUTO_ANALYSIS)
    try:
        code, first, stderr = deploy(directory, "RELEASE=1")
        assert code == 0, stderr
        assert first["first_deploy"] and first["verdicts"] == []
        load = Load(f"http://127.0.0.1:{port}").start()
        yield Env(directory, port, load, first["revision"])
        load.stop()
        assert load.unexpected() == {}, load.outcomes
    finally:
        keel("down", "--env", ENV, cwd=directory)


def stored_verdicts(env: Env, rollout: str) -> list[dict[str, Any]]:
    """The rollout's verdicts as the engine stored them, read back through keel.store.Store."""
    store = Store(env.directory / ".keel" / "keel.db")
    try:
        return store.verdicts(rollout)
    finally:
        store.close()


def metrics(verdict: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {m["metric"]: m for m in verdict["metrics"]}
    assert tuple(found) == METRICS, verdict
    return found


def assert_matches_report(data: dict[str, Any], stored: list[dict[str, Any]]) -> None:
    """The report's looks (keel deploy --format json) are the stored verdicts, look for look."""
    assert len(data["verdicts"]) == len(stored) > 0
    for look, row in zip(data["verdicts"], stored, strict=True):
        assert (look["step"], look["look"], look["outcome"]) == (row["step"], row["look"], row["outcome"])
        assert look["summary"] == row["verdict"]["summary"] and row["verdict"]["outcome"] == row["outcome"]
        if not row["verdict"]["metrics"]:  # a look whose metrics could not be read: inconclusive, no facts
            assert row["outcome"] == "inconclusive" and look["canary"] is None, row
            continue
        assert row["verdict"]["judge"] == "compare" == look["judge"], row["verdict"]
        assert look["metrics"] == [
            {k: m[k] for k in ("metric", "outcome", "critical", "reason")} for m in row["verdict"]["metrics"]
        ]
        first = row["verdict"]["metrics"][0]["data"]
        for who in ("canary", "baseline"):
            assert look[who] == {k: first[who][k] for k in ("requests", "errors", "error_rate", "p95_ms")}
    # the deciding look, whole, with every metric's data
    assert data["last_verdict"] == {
        "step": stored[-1]["step"],
        "look": stored[-1]["look"],
        **stored[-1]["verdict"],
    }


def assert_window_facts(data: dict[str, Any], canary: str, baseline: str, *, min_requests: int = 30) -> None:
    assert data["canary"]["revision"] == canary and data["baseline"]["revision"] == baseline
    for who in ("canary", "baseline"):
        facts = data[who]
        assert set(FACTS) <= set(facts), facts
        assert facts["requests"] >= min_requests and 0 <= facts["errors"] <= facts["requests"], facts
        assert 0 < facts["p50_ms"] <= facts["p95_ms"] <= facts["p99_ms"], facts


def assert_rolled_back_at_ten_percent(
    env: Env, data: dict[str, Any], metric: str
) -> dict[str, dict[str, Any]]:
    """Rolled back by analysis at the first step, ``metric`` failing, traffic verified back on the previous
    revision; returns the failing look's findings by metric, as stored."""
    assert data["phase"] == "rolled_back" and data["failed_by"] == "analysis", data["cause"]
    assert data["previous"] == env.serving
    assert data["cause"].startswith("analysis failed at 10%: critical metric failed: "), data["cause"]
    assert data["rollback"]["target"] == env.serving and data["rollback"]["verified"], data["rollback"]
    assert max(point["weight"] for point in data["traffic"]) == 10, data["traffic"]
    stored = stored_verdicts(env, data["rollout"])
    assert_matches_report(data, stored)
    assert [row["outcome"] for row in stored].count("fail") == 1 and stored[-1]["outcome"] == "fail"
    failing = stored[-1]["verdict"]
    assert stored[-1]["step"] == 0 and failing["judge"] == "compare", failing
    found = metrics(failing)
    assert found[metric]["outcome"] == "fail" and found[metric]["critical"], found[metric]
    assert metric in data["cause"].removeprefix("analysis failed at 10%: critical metric failed: ").split(
        ", "
    )
    # a clear failure may be called before min_requests: only passing must wait for enough data
    assert_window_facts(found[metric]["data"], data["revision"], env.serving, min_requests=1)
    assert_decided_on_its_p_value(found[metric])
    return found


def assert_decided_on_its_p_value(finding: dict[str, Any]) -> None:
    """The reason quotes the p-value of the test that decided, and the alpha it was below."""
    data = finding["data"]
    if data["decided_by"] == "sequential":
        pattern, p_value, alpha = r"; p = ([^\s;]+) < alpha = ([^\s;]+)", data["p_value"], data["alpha"]
    else:
        assert data["decided_by"] == "end-of-hold" and data["final_test"], data
        pattern = r"end of hold: \S+ p = ([^\s;]+) <= alpha = ([^\s;]+)"
        p_value, alpha = data["fixed_sample_p_value"], data["final_alpha"]
    match = re.search(pattern, finding["reason"])
    assert match, finding["reason"]
    assert float(match.group(1)) == pytest.approx(p_value, rel=0.01) and p_value <= alpha, data
    assert float(match.group(2)) == pytest.approx(alpha, rel=0.01), data
    if "margin" in data:  # a rate test: the rise was also credibly more than ignore_below, by its own test
        margin = data["margin"]
        head = re.escape(f"; more than {margin['ignore_below']:.2%} higher: ")
        if margin["decided_by"] == "sequential":
            pattern, p_value, alpha = (
                head + r"p = ([^\s;]+) < alpha = ([^\s;]+)",
                margin["p_value"],
                data["alpha"],
            )
        else:
            assert margin["decided_by"] == "end-of-hold" and data["final_test"], data
            pattern = head + r"end of hold: p = ([^\s;]+) <= alpha = ([^\s;]+)"
            p_value, alpha = margin["fixed_sample_p_value"], data["final_alpha"]
        match = re.search(pattern, finding["reason"])
        assert match, finding["reason"]
        assert float(match.group(1)) == pytest.approx(p_value, rel=0.01) and p_value <= alpha, data
        assert float(match.group(2)) == pytest.approx(alpha, rel=0.01), data


def assert_all_traffic_on_previous(env: Env) -> None:
    assert_on_one_healthy_revision(env.directory, env.serving)
    with httpx.Client(base_url=f"http://127.0.0.1:{env.port}", timeout=15) as client:
        answers = [client.get("/api/v1/content?limit=5") for _ in range(40)]
    assert [r.status_code for r in answers] == [200] * 40  # the faulty canary answers none of them
    assert env.load.unexpected() == {}, env.load.outcomes


def test_a_good_release_is_promoted_by_the_comparison_judge(env: Env) -> None:
    code, data, stderr = deploy(env.directory, "RELEASE=2")
    assert code == 0, stderr
    assert data["phase"] == "promoted" and data["previous"] == env.serving and data["failed_by"] is None
    assert data["schema"] == "keel.rollout/v1" and not data["first_deploy"]
    previous, env.serving = env.serving, assert_on_one_healthy_revision(env.directory, data["revision"])
    assert env.load.unexpected() == {}, env.load.outcomes
    stored = stored_verdicts(env, data["rollout"])
    assert_matches_report(data, stored)
    assert "fail" not in [row["outcome"] for row in stored]
    # the look that ended each analysed step (10 %, then 50 %): a pass on the end-of-hold test, with for every
    # metric the window's counts and percentiles, the test, its p-value and effect size, and the rule
    ends = [[row for row in stored if row["step"] == step][-1] for step in (0, 1)]
    for end in ends:
        assert end["outcome"] == "pass" and end["verdict"]["summary"] == "all metrics passed", end
        found = metrics(end["verdict"])
        for name, finding in found.items():
            facts = finding["data"]
            assert finding["outcome"] == "pass" and finding["critical"], finding
            assert_window_facts(facts, data["revision"], previous)
            assert facts["test"] and facts["rule"].startswith("fail when "), facts
            assert facts["final_test"] is True and facts.get("decided_by") is None, (name, facts)
            assert facts["final_alpha"] > 0 and facts["alpha"] > 0
        errors, latency, tail = (found[m]["data"] for m in METRICS)
        assert errors["canary"]["errors"] == 0 and errors["baseline"]["errors"] == 0
        assert errors["p_value"] == 1.0 and errors["effect"] == {"difference": 0.0, "rate_ratio": None}
        assert found["error-rate"]["reason"].startswith("no credible increase: canary 0.00% (0/")
        assert 0.0 < latency["p_value"] <= 1.0 and 0.0 < latency["fixed_sample_p_value"] <= 1.0
        ratio = latency["effect"]["hodges_lehmann_ratio"]
        assert latency["interval"]["low"] <= ratio <= latency["interval"]["high"], latency
        assert re.match(
            r"no credible slow-down: p50 |latency up x[\d.]+, (within|not credibly beyond) the allowed x1\.05: ",
            found["latency"]["reason"],
        ), found["latency"]
        if "p_value" in tail:  # some request was slower than a bucket bound at the pooled p99
            assert 0.0 < tail["p_value"] <= 1.0 and set(tail["effect"]) == {"difference", "rate_ratio"}
            assert tail["threshold_ms"] > 0 and tail["canary_threshold_factor"] >= 1.0, tail
            if tail["canary_events"] + tail["baseline_events"] == 0:
                # the pooled tail held only canary requests under its threshold x its allowed slow-down
                assert tail["p_value"] == 1.0, tail
        else:
            assert "nothing in the tail to compare" in found["latency-tail"]["reason"], found["latency-tail"]


def test_a_latency_regression_is_rolled_back_at_ten_percent(env: Env) -> None:
    code, data, stderr = deploy(env.directory, "BAYIT_FAULT_LATENCY_MS=150")
    assert code == 1, stderr
    found = assert_rolled_back_at_ten_percent(env, data, "latency")
    assert found["error-rate"]["outcome"] == "pass", found["error-rate"]
    latency = found["latency"]
    facts = latency["data"]
    # the reason names the slow-down factor (Hodges-Lehmann) and the p-value it was decided on
    match = re.match(r"latency up x(\d+\.\d+) \(CI (\d+\.\d+)-\S+\) > allowed x1\.05: ", latency["reason"])
    assert match, latency["reason"]
    factor = float(match.group(1))
    assert factor == pytest.approx(facts["effect"]["hodges_lehmann_ratio"], abs=1e-3)
    assert factor > 1.5 and float(match.group(2)) > 1.05, latency["reason"]
    assert facts["canary"]["p50_ms"] >= 150 > facts["baseline"]["p50_ms"], facts
    assert_all_traffic_on_previous(env)


def test_an_error_regression_is_rolled_back_by_the_error_rate_metric(env: Env) -> None:
    faults_before = env.load.outcomes["fault"]
    code, data, stderr = deploy(env.directory, "BAYIT_FAULT_ERROR_RATE=0.2")
    assert code == 1, stderr
    found = assert_rolled_back_at_ten_percent(env, data, "error-rate")
    assert [m for m, finding in found.items() if finding["outcome"] == "fail"] == ["error-rate"], found
    errors = found["error-rate"]
    facts = errors["data"]
    assert facts["canary"]["errors"] > 0 and facts["baseline"]["errors"] == 0, facts
    assert facts["canary_events"] == facts["canary"]["errors"] and facts["baseline_events"] == 0
    assert facts["effect"]["difference"] == pytest.approx(facts["canary"]["error_rate"], abs=1e-6)
    seen = f"error rate up: canary {facts['canary']['error_rate']:.2%} ({facts['canary']['errors']}/"
    assert errors["reason"].startswith(seen), errors["reason"]
    assert env.load.outcomes["fault"] > faults_before  # the load met the canary's errors, and nothing else
    assert_all_traffic_on_previous(env)
