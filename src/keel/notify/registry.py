"""Notifier names from keel.yaml -> classes; unknown names are refused."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from keel.notify.base import Notifier
from keel.notify.errors import NotifierConfigError
from keel.plugins import Registry, UnknownPlugin
from keel.yamlfile import error_message, error_path

# name -> "module:Class"; imported only when used so `keel --help` stays fast.
NOTIFIERS: Registry[Any] = Registry(
    "notifier",
    {
        "slack": "keel.notify.slack:SlackNotifier",
        "webhook": "keel.notify.webhook:WebhookNotifier",
        "pagerduty": "keel.notify.pagerduty:PagerDutyNotifier",
        "noop": "keel.notify.noop:NoopNotifier",
    },
)


def notifier_class(name: str) -> Any:
    try:
        return NOTIFIERS.load(name)
    except UnknownPlugin as exc:
        raise NotifierConfigError(str(exc)) from None


def config_problems(name: str, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with one channel's configuration, as (key path inside the channel, message)."""
    if name not in NOTIFIERS:
        return [((), f"unknown notifier (known: {NOTIFIERS.known()})")]
    model: type[BaseModel] | None = getattr(notifier_class(name), "Config", None)
    if model is None:
        return []
    try:
        model.model_validate(config)
    except ValidationError as exc:
        return [(error_path(err), error_message(err)) for err in exc.errors()]
    return []


def create_notifiers(
    channels: Mapping[str, Mapping[str, Any]], timeout: float = 3.0, environ: Mapping[str, str] | None = None
) -> tuple[list[Notifier], list[str]]:
    """Build the configured notifiers. A channel whose secret variable is unset is skipped with a warning:
    a missing webhook must not stop a release (or a rollback)."""
    env = os.environ if environ is None else environ
    notifiers: list[Notifier] = []
    warnings: list[str] = []
    for name, config in channels.items():
        cls = notifier_class(name)
        try:
            notifiers.append(cls(dict(config), environ=env, timeout=timeout) if name != "noop" else cls())
        except NotifierConfigError as exc:
            warnings.append(f"{exc}; channel disabled")
    return notifiers, warnings
