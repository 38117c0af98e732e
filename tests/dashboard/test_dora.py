"""DORA figures against a hand-computed history (every figure below is worked out in the comments)."""

from __future__ import annotations

import math

import pytest

from keel.dashboard.dora import DEFINITIONS, dora, failed_changes, incidents
from keel.dashboard.history import AlertIncident, History, ReleaseRecord

T0 = 1_700_000_000.0
DAY = 86400.0


def deploy(
    rid: str, revision: str, started: float, finished: float | None, phase: str, *, reached: bool = True,
    failed_at: float | None = None, committed: float | None = None, previous: str | None = None,
) -> ReleaseRecord:  # fmt: skip
    return ReleaseRecord(
        rid, "deploy", revision, previous, phase, T0 + started, None if finished is None else T0 + finished,
        reached, None if failed_at is None else T0 + failed_at, None, "abc1234" if committed is not None else None,
        None if committed is None else T0 + committed,
    )  # fmt: skip


def rollback(
    rid: str, target: str, previous: str, started: float, finished: float, phase: str
) -> ReleaseRecord:
    return ReleaseRecord(rid, "rollback", target, previous, phase, T0 + started, T0 + finished, True)


def alert(fired: float, resolved: float | None, key: str = "page") -> AlertIncident:
    return AlertIncident(key, key, T0 + fired, None if resolved is None else T0 + resolved)


# A ten-day window:
#   d1 v1 first deploy, promoted at 1600, commit at 400            -> lead 1200
#   d2 v2 promoted at DAY+900, commit at DAY-3600                  -> lead 4500
#   d3 v3 held traffic, keel decided to roll back at 2DAY+300, rolled back at 2DAY+420 (failed change)
#   d4 v4 failed its health gate (no user saw it): not a change that reached users
#   d5 v5 promoted at 4DAY+600, commit unknown                     -> lead unknown
#   b1 manual rollback v5 -> v2 from 5DAY to 5DAY+90               -> d5 is a failed change; incident 90 s
#   b2 manual rollback v2 -> v5 (a rollback of a rollback) 5DAY+1000..+1030: fails no deploy; incident 30 s
#   d6 v6 in progress (holding): left out of every rate
#   page alerts: 2DAY+200..2DAY+400 (overlaps d3's 300..420: one incident 200..420 = 220 s),
#                6DAY..6DAY+1800 (1800 s), 8DAY firing still (open)
HISTORY = History(
    T0,
    T0 + 10 * DAY,
    (
        deploy("d1", "v1", 1000, 1600, "promoted", committed=400),
        deploy("d2", "v2", DAY, DAY + 900, "promoted", committed=DAY - 3600, previous="v1"),
        deploy(
            "d3",
            "v3",
            2 * DAY,
            2 * DAY + 420,
            "rolled_back",
            failed_at=2 * DAY + 300,
            committed=2 * DAY - 100,
        ),
        deploy("d4", "v4", 3 * DAY, 3 * DAY + 60, "failed", reached=False),
        deploy("d5", "v5", 4 * DAY, 4 * DAY + 600, "promoted", previous="v2"),
        rollback("b1", "v2", "v5", 5 * DAY, 5 * DAY + 90, "rolled_back"),
        rollback("b2", "v5", "v2", 5 * DAY + 1000, 5 * DAY + 1030, "rolled_back"),
        deploy("d6", "v6", 9 * DAY, None, "holding", previous="v5"),
    ),
    (alert(2 * DAY + 200, 2 * DAY + 400), alert(6 * DAY, 6 * DAY + 1800, "p2"), alert(8 * DAY, None, "p3")),
)


def test_hand_computed_window() -> None:
    report = dora(HISTORY)
    value = {m.name: m.value for m in report.metrics}
    assert value["deployment_frequency"] == pytest.approx(3 / 10)  # d1, d2, d5 over 10 days
    assert value["lead_time"] == pytest.approx((1200 + 4500) / 2)  # median of the two known
    assert report.metric("lead_time").detail == {"known": 2, "unknown": 1}
    assert value["change_failure_rate"] == pytest.approx(2 / 4)  # d3, d5 of d1, d2, d3, d5
    assert value["rollback_rate"] == pytest.approx(3 / 5)  # d3 + b1 + b2 over 5 finished deploys
    assert value["deployment_success_rate"] == pytest.approx(3 / 5)
    # restored incidents 220, 90, 30, 1800 -> median (90 + 220) / 2; the 8DAY page is still open
    assert value["time_to_restore"] == pytest.approx(155)
    ttr = report.metric("time_to_restore").detail
    assert ttr == {"incidents": 5, "restored": 4, "open": 1, "mean_s": pytest.approx(2140 / 4)}
    assert report.counts == {
        "deploys": 6, "in_progress": 1, "promoted": 3, "rolled_back": 1, "failed": 1, "rollback_failed": 0,
        "manual_rollbacks": 2, "page_alerts": 3,
    }  # fmt: skip


def test_rollback_of_a_rollback_fails_no_second_deploy() -> None:
    assert sorted(r.id for r in failed_changes(HISTORY)) == ["d3", "d5"]


def test_overlapping_incidents_merge() -> None:
    assert incidents(HISTORY)[0] == (T0 + 2 * DAY + 200, T0 + 2 * DAY + 420)
    assert incidents(HISTORY)[-1] == (T0 + 8 * DAY, None)


def test_no_deploys_in_the_window() -> None:
    report = dora(History(T0, T0 + 7 * DAY, ()))
    value = {m.name: m.value for m in report.metrics}
    assert value["deployment_frequency"] == 0.0
    for name in (
        "lead_time",
        "change_failure_rate",
        "rollback_rate",
        "deployment_success_rate",
        "time_to_restore",
    ):
        assert value[name] is None, name
    assert report.to_json()["metrics"]["lead_time"]["value"] is None


def test_only_a_release_in_progress() -> None:
    report = dora(History(T0, T0 + DAY, (deploy("d1", "v1", 10, None, "holding"),)))
    assert report.counts["in_progress"] == 1
    assert report.metric("deployment_success_rate").value is None
    assert report.metric("change_failure_rate").value is None


def test_failed_rollback_lasts_until_the_next_ready_release() -> None:
    history = History(
        T0,
        T0 + DAY,
        (
            deploy("a", "va", 0, 100, "promoted"),
            deploy("b", "vb", 500, 1100, "rollback_failed", failed_at=1000),
            deploy("c", "vc", 2000, 2500, "promoted"),
        ),
    )
    report = dora(history)
    assert report.metric("time_to_restore").value == 1500  # 1000 -> the promotion of c at 2500
    assert report.metric("change_failure_rate").value == pytest.approx(1 / 3)
    assert report.metric("rollback_rate").value == pytest.approx(1 / 3)


def test_every_metric_has_a_definition() -> None:
    data = dora(HISTORY).to_json()
    assert set(data["metrics"]) == set(DEFINITIONS)
    for metric in data["metrics"].values():
        assert metric["definition"] and metric["title"] and metric["unit"]
    assert math.isclose(data["window"]["days"], 10)
