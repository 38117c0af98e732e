"""The generic webhook: the event as JSON; errors name the channel, never the URL."""

from __future__ import annotations

import pytest

from keel.notify.base import Event
from keel.notify.errors import NotifierConfigError, NotifyError
from keel.notify.webhook import WebhookNotifier
from tests.keel.notify.server import receiver

EVENT = Event("promoted", "Release promoted", "svc-2 serves 100%", service="svc", environment="local", at=5.0)


async def test_posts_the_event_as_json_with_headers_from_env() -> None:
    with receiver() as (url, recorder):
        notifier = WebhookNotifier(
            {"url_env": "HOOK", "headers_env": {"X-Token": "HOOK_TOKEN"}},
            environ={"HOOK": url + "/hook", "HOOK_TOKEN": "t0k"},
        )
        await notifier.send(EVENT)
        await notifier.aclose()
    path, headers, body = recorder.posts[0]
    assert path == "/hook" and headers["X-Token"] == "t0k"
    assert body == {"source": "keel", **EVENT.to_json()}


async def test_refused_delivery_names_channel_not_url() -> None:
    with receiver() as (url, recorder):
        recorder.status = 500
        notifier = WebhookNotifier({"url_env": "HOOK"}, environ={"HOOK": url + "/secret-path-123"})
        with pytest.raises(NotifyError) as info:
            await notifier.send(EVENT)
        await notifier.aclose()
    assert "webhook: delivery refused with HTTP 500" in str(info.value)
    assert "secret-path-123" not in str(info.value)


async def test_unreachable_url() -> None:
    notifier = WebhookNotifier({"url_env": "HOOK"}, environ={"HOOK": "http://127.0.0.1:9/x?token=abc"})
    with pytest.raises(NotifyError) as info:
        await notifier.send(EVENT)
    await notifier.aclose()
    assert "token=abc" not in str(info.value)


def test_missing_or_bad_variable() -> None:
    with pytest.raises(NotifierConfigError, match="HOOK is not set"):
        WebhookNotifier({"url_env": "HOOK"}, environ={})
    with pytest.raises(NotifierConfigError, match="does not hold an http"):
        WebhookNotifier({"url_env": "HOOK"}, environ={"HOOK": "ftp://x"})
