"""keel's records read back as the dashboard's history, from releases the engine ran on the memory platform
(fake clock), on SQLite and on a real PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.analysis.base import Outcome
from keel.dashboard.dora import dora
from keel.dashboard.history import HistoryReader
from keel.rollout.commit import Commit
from keel.rollout.release import Release
from keel.rollout.wiring import Wiring
from keel.store import AlertRow, Store
from tests.keel.rollout.fakes import SETTINGS, Rig
from tests.keel.rollout.test_release import OLD, memory_spec


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Rig:
    r = Rig(tmp_path)
    if request.param == "postgres":
        r.store.close()
        r.store = Store(str(request.getfixturevalue("postgres_url")))
    r.platform.add_serving(OLD)
    r.store.record_serving("test", OLD, r.clock(), None, "served before keel")
    return r


def release(rig: Rig, tmp_path: Path) -> Release:
    wiring = Wiring(rig.store, rig.platform, SETTINGS, rig.prober, rig.smoke, rig.make_analyzer)  # type: ignore[arg-type]
    return Release(memory_spec(tmp_path), "test", wiring=wiring, clock=rig.clock, sleeper=rig.clock.sleep)


async def test_releases_read_back_with_outcome_cause_commit_and_verdict(rig: Rig, tmp_path: Path) -> None:
    start = rig.clock()
    good = await release(rig, tmp_path).deploy(commit=Commit("a" * 40, start - 3600, "KEEL_COMMIT_SHA"))
    rig.clock.now += 600
    rig.outcome = lambda canary, look: Outcome.FAIL
    bad = await release(rig, tmp_path).deploy(commit=Commit("b" * 40, None, "GITHUB_SHA"))
    rig.clock.now += 600
    back = await release(rig, tmp_path).rollback()  # the good deploy -> OLD
    page = AlertRow("burn", "svc", "test", "ErrorBudgetBurn", "page", "firing")
    rig.store.add_alert_event(page, "firing", rig.clock() + 10, 0.2)
    rig.store.add_alert_event(page, "resolved", rig.clock() + 70, 0.0)
    end = rig.clock() + 3600

    reader = HistoryReader(rig.store, "svc", "test")
    history = reader.history(start, end)
    assert [(r.id, r.kind, r.outcome) for r in history.releases] == [
        (good.rollout.id, "deploy", "promoted"),
        (bad.rollout.id, "deploy", "rolled_back"),
        (back.rollout.id, "rollback", "rolled_back"),
    ]
    first, second, third = history.releases
    assert first.commit == "a" * 40 and first.committed == start - 3600 and first.reached_users
    assert first.finished == good.rollout.finished
    assert second.commit == "b" * 40 and second.committed is None
    assert second.reached_users and second.failed_at is not None
    assert third.revision == OLD and third.previous == good.rollout.revision
    assert [(i.name, i.resolved is not None and i.resolved - i.fired) for i in history.incidents] == [
        ("ErrorBudgetBurn", 60)
    ]

    report = dora(history)
    assert report.metric("change_failure_rate").value == 1.0  # bad rolled back; good undone by the rollback
    assert report.metric("deployment_success_rate").value == 0.5
    assert report.metric("lead_time").value == pytest.approx(good.rollout.finished - (start - 3600))

    verdicts = reader.deciding_verdicts([bad.rollout.id, good.rollout.id])
    assert verdicts[bad.rollout.id].outcome == "fail" and verdicts[good.rollout.id].outcome == "pass"
    assert reader.releases(start, end, limit=1)[0].id == back.rollout.id  # newest first
    page = {r.id: r for r in reader.releases(start, end)}
    assert page[bad.rollout.id].cause == bad.cause and page[bad.rollout.id].looks == len(bad.looks)
    assert reader.outcome_counts(start, end) == {
        "deploy:promoted": 1, "deploy:rolled_back": 1, "rollback:rolled_back": 1
    }  # fmt: skip
    assert sum(d["count"] for d in reader.daily_counts(start, end)) == 2
    assert reader.history(end, end + 60).releases == ()  # the window bounds what is read


async def test_the_commit_is_read_from_the_environment_at_deploy(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_COMMIT_SHA", "c" * 40)
    monkeypatch.setenv("KEEL_COMMIT_TIME", "2026-01-02T03:04:05Z")
    done = await release(rig, tmp_path).deploy()
    (record,) = HistoryReader(rig.store, "svc", "test").history(0, rig.clock() + 1).releases
    assert record.id == done.rollout.id and record.commit == "c" * 40
    assert record.committed == 1767323045.0
