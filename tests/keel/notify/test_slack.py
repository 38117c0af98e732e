"""Slack incoming webhook, posted to a real local HTTP server."""

from __future__ import annotations

from keel.notify.base import Event, Severity
from keel.notify.slack import SlackNotifier, slack_payload
from tests.keel.notify.server import receiver

EVENT = Event(
    "rolled_back", "Rolled back", "bayit-00002-abc failed analysis at 10%", Severity.WARNING,
    "bayit", "staging", 1.0, {"revision": "bayit-00002-abc", "weight": 10, "nested": {"x": 1}},
)  # fmt: skip


async def test_posts_text_and_blocks() -> None:
    with receiver() as (url, recorder):
        notifier = SlackNotifier({"webhook_env": "HOOK"}, environ={"HOOK": url + "/services/T/B/secret"})
        await notifier.send(EVENT)
        await notifier.aclose()
    path, headers, body = recorder.posts[0]
    assert path == "/services/T/B/secret"
    assert headers["Content-Type"] == "application/json"
    assert body["text"].startswith(":warning: *Rolled back* (bayit/staging)")
    assert "failed analysis at 10%" in body["text"]
    assert {"type": "mrkdwn", "text": "*weight*\n10"} in body["blocks"][1]["fields"]


def test_payload_has_no_non_scalar_fields_and_optional_channel() -> None:
    payload = slack_payload(EVENT, "#releases")
    assert payload["channel"] == "#releases"
    assert all("nested" not in f["text"] for f in payload["blocks"][1]["fields"])
