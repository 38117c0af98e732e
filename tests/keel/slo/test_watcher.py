"""The embedded watcher on a scripted service: every default rule fires and resolves; one page per incident,
repeats at the route's interval, a restart mid-incident neither loses the alert nor pages again, a flapping
signal pages once."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.slo.config import AlertsSpec, BurnWindow, Receiver
from keel.slo.rules import build_rules
from keel.slo.samples import CheckStreak
from keel.slo.watcher import Watcher
from keel.store import Store
from tests.keel.slo.scripted import Recording, Service

INTERVAL = 10.0
# The default rules at test scale: same thresholds and shapes, windows in seconds instead of minutes.
ALERTS = AlertsSpec.model_validate(
    {
        "interval": "10s",
        "keep_firing_for": "20s",
        "HighErrorRate": {"window": "60s"},
        "ElevatedErrorRate": {"window": "60s"},
        "HighLatencyP95": {"window": "60s"},
        "SLOErrorBudgetBurn": {
            "windows": [
                BurnWindow(severity="page", long=60, short=10, factor=14.4).model_dump(),
                BurnWindow(severity="ticket", long=300, short=60, factor=1).model_dump(),
            ]
        },
        "routes": {
            "page": Receiver(channel="pagerduty", repeat=120).model_dump(),
            "ticket": Receiver(channel="slack").model_dump(),
            "warning": Receiver(channel="slack").model_dump(),
        },
    }
)


class Rig:
    def __init__(self, store: Store | None = None, alerts: AlertsSpec = ALERTS) -> None:
        self.clock = [1_000_000.0]
        self.service = Service(self.clock)
        self.pager = Recording("pagerduty")
        self.slack = Recording("slack")
        self.watcher = self.make(store, alerts)

    def make(self, store: Store | None, alerts: AlertsSpec = ALERTS) -> Watcher:
        return Watcher(
            build_rules(alerts, service="bayit", environment="prod"), self.service, interval=alerts.interval,
            notifiers={"pagerduty": self.pager, "slack": self.slack}, routes=alerts.routes,
            service="bayit", environment="prod", store=store, clock=lambda: self.clock[0],
        )  # fmt: skip

    async def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.clock[0] += INTERVAL
            await self.watcher.evaluate_once()

    def firing(self) -> set[str]:
        return {row.name for row in self.watcher.firing()}

    def sent(self, name: str) -> list[str]:
        """What went out about ``name`` in order, repeats of a firing alert left out."""
        events = sorted(self.pager.events + self.slack.events, key=lambda e: e.at)
        return [e.kind for e in events if e.data["alert"] == name and not e.data.get("repeat")]


FAULTS = {
    "ReadinessFailing": {"ready": False},
    "HighErrorRate": {"error_share": 0.2},
    "DatabaseConnectionFailures": {"checks": {"database": CheckStreak(3, True, "datastore")}},
    "HighLatencyP95": {"slow_share": 0.2},
    "ElevatedErrorRate": {"error_share": 0.03},
    "ExternalApiDegraded": {"checks": {"openai": CheckStreak(3, False, "component")}},
    "SLOErrorBudgetBurn": {"error_share": 0.03},
}


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_each_default_rule_fires_on_its_fault_and_resolves_when_it_ends(name: str) -> None:
    rig = Rig()
    await rig.tick(8)  # healthy traffic first
    assert rig.firing() == set()
    for key, value in FAULTS[name].items():
        setattr(rig.service, key, value)
    await rig.tick(8)
    assert name in rig.firing()
    assert rig.sent(name) == ["alert_firing"] * (1 if name != "SLOErrorBudgetBurn" else len(rig.sent(name)))
    rig.service.ready, rig.service.error_share, rig.service.slow_share, rig.service.checks = (
        True,
        0.0,
        0.0,
        {},
    )
    await rig.tick(40)  # the windows pass, then keep_firing_for
    assert name not in rig.firing()
    assert rig.sent(name)[-1] == "alert_resolved"


async def test_readiness_needs_two_consecutive_evaluations() -> None:
    rig = Rig()
    await rig.tick(2)
    rig.service.ready = False
    await rig.tick()
    assert "ReadinessFailing" not in rig.firing()
    await rig.tick()
    assert "ReadinessFailing" in rig.firing()
    event = rig.pager.events[0]
    assert (event.service, event.environment, event.data["alert"]) == ("bayit", "prod", "ReadinessFailing")
    assert event.data["runbook"].endswith("#readinessfailing")


async def test_errors_page_once_then_repeat_at_the_route_interval() -> None:
    rig = Rig()
    await rig.tick(3)
    rig.service.error_share = 0.5
    await rig.tick(11)  # 110 s of a steady fault: one page each for the alerts it fires
    pages = [e.data["alert"] for e in rig.pager.events]
    assert pages.count("HighErrorRate") == 1
    await rig.tick(12)  # past the 120 s repeat interval of pages
    repeats = [e for e in rig.pager.events if e.data["alert"] == "HighErrorRate"]
    assert len(repeats) == 2 and repeats[1].data.get("repeat") is True
    assert rig.slack.events and all(e.data["severity"] != "page" for e in rig.slack.events)


async def test_low_traffic_guard_one_failed_request_does_not_page() -> None:
    rig = Rig()
    rig.service.rps = 1
    rig.service.error_share = 1.0  # every request fails, but there are only a handful
    await rig.tick(3)
    assert not {"HighErrorRate", "SLOErrorBudgetBurn"} & rig.firing()


async def test_restart_mid_incident_keeps_the_alert_and_does_not_page_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "keel.db")
    rig = Rig(store)
    await rig.tick(3)
    rig.service.error_share = 0.5
    await rig.tick(4)
    assert "HighErrorRate" in rig.firing()
    pages_before = len(rig.pager.events)
    rig.watcher = rig.make(Store(tmp_path / "keel.db"))  # a new process on the same state database
    assert "HighErrorRate" in rig.firing()  # known before its first scrape
    await rig.tick(4)
    assert len(rig.pager.events) == pages_before  # still firing: no second page
    rig.service.error_share = 0.0
    await rig.tick(12)
    assert "HighErrorRate" not in rig.firing()
    assert rig.sent("HighErrorRate") == ["alert_firing", "alert_resolved"]
    history = [h["event"] for h in store.alert_history("bayit", "prod") if h["name"] == "HighErrorRate"]
    history = [h for h in history if h != "notified:repeat"]  # the 120 s repeat may fall inside the incident
    assert history[::-1] == ["firing", "notified:firing", "resolved"]


async def test_a_flapping_signal_pages_once() -> None:
    alerts = ALERTS.model_copy(
        update={"ReadinessFailing": ALERTS.ReadinessFailing.model_copy(update={"consecutive": 1})}
    )
    rig = Rig(alerts=alerts)
    for i in range(20):  # readiness down every other scrape for 200 s
        rig.service.ready = i % 2 == 0
        await rig.tick()
    assert rig.sent("ReadinessFailing") == ["alert_firing"]


async def test_a_failed_delivery_is_retried_next_evaluation() -> None:
    rig = Rig()
    rig.pager.fail = True
    rig.service.ready = False
    await rig.tick(2)
    assert "ReadinessFailing" in rig.firing() and rig.watcher.failures
    rig.pager.fail = False
    await rig.tick()
    assert rig.sent("ReadinessFailing") == ["alert_firing"]


async def test_a_target_that_went_down_is_not_ready_and_no_data_is_not_recovery() -> None:
    rig = Rig()
    await rig.tick(3)
    rig.service.error_share = 0.5
    await rig.tick(4)
    rig.service.ready = None  # the process is gone: counters unknown
    await rig.tick(3)
    assert {"ReadinessFailing", "HighErrorRate"} <= rig.firing()


async def test_a_resolve_that_failed_to_go_out_is_retried_once_the_channel_is_back() -> None:
    rig = Rig()
    rig.service.ready = False
    await rig.tick(3)
    rig.service.ready = True
    rig.pager.fail = True
    await rig.tick(5)  # past keep_firing_for: resolved, but PagerDuty refuses the resolve
    assert "ReadinessFailing" not in rig.firing()
    assert rig.sent("ReadinessFailing") == ["alert_firing"]
    rig.pager.fail = False
    await rig.tick()
    assert rig.sent("ReadinessFailing") == ["alert_firing", "alert_resolved"]
    await rig.tick(3)
    assert rig.sent("ReadinessFailing") == ["alert_firing", "alert_resolved"]  # exactly once
