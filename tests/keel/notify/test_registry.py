"""Notifier names map to classes; unknown ones are refused; a channel with no secret is disabled, not fatal."""

from __future__ import annotations

import pytest

from keel.notify.errors import NotifierConfigError
from keel.notify.noop import NoopNotifier
from keel.notify.registry import config_problems, create_notifiers, notifier_class
from keel.notify.slack import SlackNotifier


def test_known_and_unknown_names() -> None:
    assert notifier_class("slack") is SlackNotifier
    with pytest.raises(NotifierConfigError, match="unknown notifier 'pigeon'"):
        notifier_class("pigeon")


def test_config_problems_name_the_key() -> None:
    assert config_problems("slack", {"webhook_env": "X"}) == []
    assert config_problems("webhook", {}) == [(("url_env",), "required key is missing")]
    assert config_problems("slack", {"url": "x"}) == [(("url",), "unknown key")]


def test_create_skips_channels_whose_variable_is_unset() -> None:
    notifiers, warnings = create_notifiers({"slack": {"webhook_env": "NOPE"}, "noop": {}}, environ={})
    assert [type(n) for n in notifiers] == [NoopNotifier]
    assert warnings == ["notify.slack: environment variable NOPE is not set; channel disabled"]
