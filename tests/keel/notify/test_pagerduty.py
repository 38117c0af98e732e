"""PagerDuty Events API v2, posted to a real local HTTP server speaking its documented answers."""

from __future__ import annotations

import pytest

from keel.notify.base import Event, Severity
from keel.notify.errors import NotifierConfigError, NotifyError
from keel.notify.pagerduty import PagerDutyNotifier, pagerduty_body
from keel.notify.registry import config_problems
from tests.keel.notify.server import receiver

KEY = "R0UTINGKEYSECRET0000000000000000"
FIRING = Event(
    "alert_firing", "HighErrorRate", "5xx share above 5 % over 5m (value 0.12)", Severity.CRITICAL,
    "bayit", "production", 1.0,
    {"dedup_key": "HighErrorRate{service=bayit}", "value": 0.12, "threshold": 0.05,
     "runbook": "https://runbooks.example.com/x#higherrorrate", "dashboard": "https://grafana.example.com/d/b"},
)  # fmt: skip


async def test_trigger_then_resolve_share_one_dedup_key() -> None:
    with receiver() as (url, recorder):
        recorder.status = 202
        notifier = PagerDutyNotifier({"url": url + "/v2/enqueue"}, environ={"PAGERDUTY_ROUTING_KEY": KEY})
        await notifier.send(FIRING)
        await notifier.send(Event("alert_resolved", "HighErrorRate", "resolved", data=FIRING.data))
        await notifier.aclose()
    (path, _, trigger), (_, _, resolve) = recorder.posts
    assert path == "/v2/enqueue"
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == KEY
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "bayit/production"
    assert trigger["payload"]["custom_details"]["threshold"] == 0.05
    assert {"href": FIRING.data["runbook"], "text": "Runbook"} in trigger["links"]
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": trigger["dedup_key"]}


async def test_refusal_names_the_channel_never_the_key() -> None:
    with receiver() as (url, recorder):
        recorder.status = 429  # PagerDuty's rate limit answer
        notifier = PagerDutyNotifier({"url": url}, environ={"PD": KEY, "PAGERDUTY_ROUTING_KEY": KEY})
        with pytest.raises(NotifyError) as info:
            await notifier.send(FIRING)
        await notifier.aclose()
    assert "pagerduty" in str(info.value) and "429" in str(info.value)
    assert KEY not in str(info.value)


def test_missing_key_and_bad_config() -> None:
    with pytest.raises(NotifierConfigError, match="PAGERDUTY_ROUTING_KEY is not set"):
        PagerDutyNotifier({}, environ={})
    assert config_problems("pagerduty", {"routing_key": KEY}) == [(("routing_key",), "unknown key")]


def test_summary_is_bounded_and_details_are_scalars() -> None:
    event = Event("alert_firing", "x" * 2000, "m", data={"nested": {"a": 1}, "n": 3})
    body = pagerduty_body(event, KEY)
    assert len(body["payload"]["summary"]) == 1024
    assert body["payload"]["custom_details"] == {"message": "m", "n": 3}


async def test_routine_release_events_do_not_page_unless_asked() -> None:
    started = Event("started", "Release started", "bayit-00002", Severity.INFO, "bayit", "production")
    failed = Event("rollback_failed", "Rollback failed", "x", Severity.CRITICAL, "bayit", "production")
    with receiver() as (url, recorder):
        recorder.status = 202
        default = PagerDutyNotifier({"url": url}, environ={"PAGERDUTY_ROUTING_KEY": KEY})
        await default.send(started)
        await default.send(failed)
        await default.aclose()
        everything = PagerDutyNotifier({"url": url, "events": "all"}, environ={"PAGERDUTY_ROUTING_KEY": KEY})
        await everything.send(started)
        await everything.aclose()
    assert [body["payload"]["class"] for _, _, body in recorder.posts] == ["rollback_failed", "started"]
