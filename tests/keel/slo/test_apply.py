"""``keel alerts apply`` through the official client against a local server speaking the Monitoring API."""

from __future__ import annotations

import json

import pytest

from keel.slo.apply import ApplyError, apply_document
from keel.slo.render import render
from keel.spec import load_spec
from tests.keel.slo.fake_alerting_api import FakeAlerting, serve
from tests.keel.slo.golden import DATA

ENV = {"PAGERDUTY_ROUTING_KEY": "pd-secret-key-123", "SLACK_AUTH_TOKEN": "xoxb-secret-token"}


def document() -> dict[str, object]:
    spec = load_spec(DATA / "in-default.yaml")
    text = render("cloudmonitoring", spec.alerts, spec.slos, spec.notify.channels, spec.service, "production")
    loaded: dict[str, object] = json.loads(text)
    return loaded


def test_apply_creates_channels_and_policies_then_updates_them_in_place() -> None:
    fake = FakeAlerting()
    with serve(fake) as (policies, channels):
        first = apply_document(document(), "bayit-plus", policies=policies, channels=channels, environ=ENV)
        second = apply_document(document(), "bayit-plus", policies=policies, channels=channels, environ=ENV)
    assert len(first.created) == 2 + 8 and not first.updated  # 2 channels, 8 policies
    assert not second.created and len(second.updated) == 10  # idempotent: nothing duplicated
    assert len(fake.policies) == 8 and len(fake.channels) == 2
    by_type = {c.type_: c for c in fake.channels.values()}
    assert by_type["pagerduty"].labels["service_key"] == ENV["PAGERDUTY_ROUTING_KEY"]
    assert by_type["slack"].labels["channel_name"] == "#engineering"
    pages = [p for p in fake.policies.values() if p.user_labels["severity"] == "page"]
    assert pages and all(p.notification_channels == [by_type["pagerduty"].name] for p in pages)
    high = next(p for p in fake.policies.values() if p.display_name.endswith(" HighErrorRate"))
    assert "http_requests_total" in high.conditions[0].condition_prometheus_query_language.query
    assert "secret" not in json.dumps(first.to_json() | second.to_json())


def test_a_channel_whose_secret_is_unset_is_skipped_and_its_policies_still_apply() -> None:
    fake = FakeAlerting()
    with serve(fake) as (policies, channels):
        report = apply_document(document(), "p", policies=policies, channels=channels,
                                environ={"SLACK_AUTH_TOKEN": "x"})  # fmt: skip
    assert report.skipped == ["channel keel-pagerduty: PAGERDUTY_ROUTING_KEY not set"]
    assert len(fake.policies) == 8


def test_a_refusal_names_the_project() -> None:
    fake = FakeAlerting()
    doc = document()
    doc["alertPolicies"] = [{"displayName": "broken", "combiner": "OR"}]
    with (
        serve(fake) as (policies, channels),
        pytest.raises(ApplyError, match=r"project p\).*InvalidArgument"),
    ):
        apply_document(doc, "p", policies=policies, channels=channels, environ=ENV)
