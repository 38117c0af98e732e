"""The rollout report (stable JSON for CI) and its Markdown summary."""

from __future__ import annotations

from pathlib import Path

from keel.analysis.base import Outcome
from keel.rollout.runner import new_deploy, run_to_rest
from keel.rollout.summary import exit_code, markdown, report
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
