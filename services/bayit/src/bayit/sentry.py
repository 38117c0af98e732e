"""Sentry set-up: what may leave the process in an event, and the scrubber that enforces it.

Nothing secret or personal leaves: no stack-frame variables (``include_local_variables=False``, and any
``vars`` that still appear are dropped), no request bodies, cookies or query strings, only allow-listed headers,
no user but its id; every string left (messages, breadcrumbs, log extras, exception values, source lines) has
the service's own secret values, bearer tokens, JWTs and email addresses replaced, and values under sensitive
key names are filtered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FILTERED = "[Filtered]"

#: Request headers that carry nothing personal and help debugging; every other header is dropped.
SAFE_HEADERS = frozenset(
    {"accept", "accept-encoding", "content-length", "content-type", "host", "user-agent", "x-correlation-id"}
)
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?|secret|token|auth|cookie|session|api[-_]?key|credential|dsn|database_url|email|signature",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
#: ``"password": "..."``, ``token=...`` inside free text (a body or query string quoted in an exception message).
_KEY_VALUE = re.compile(
    r"""(?i)(["']?(?:pass(?:word|wd)?|secret|token|api[-_]?key|authorization|cookie|session)["']?\s*[:=]\s*)"""
    r"""("[^"]*"|'[^']*'|[^\s,&;}]+)"""
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]*:[^/@\s]*@", re.IGNORECASE)
#: Event keys whose whole content is dropped: bodies, cookies, query strings, frame variables, environment.
_DROPPED_KEYS = frozenset({"data", "cookies", "query_string", "vars", "env"})


class Scrubber:
    """Sentry's ``before_send`` / ``before_send_transaction`` / ``before_breadcrumb``, built with the secret
    values the service holds (settings, DSNs, database passwords) so they are found wherever they appear."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        value = _KEY_VALUE.sub(r'\1"[Filtered]"', value)
        value = _URL_CREDENTIALS.sub(r"\g<scheme>[Filtered]@", value)
        value = _BEARER.sub(r"\1 [Filtered]", value)
        value = _JWT.sub(FILTERED, value)
        return _EMAIL.sub("[email]", value)

    def value(self, value: Any, key: str = "") -> Any:
        if key and _SENSITIVE_KEY.search(key):
            return FILTERED if value not in (None, "", [], {}) else value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items() if str(k) not in _DROPPED_KEYS}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def event(self, event: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
        request = event.get("request")
        if isinstance(request, dict):
            headers = request.get("headers")
            if isinstance(headers, dict):
                request["headers"] = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
            url = request.get("url")
            if isinstance(url, str):
                request["url"] = url.split("?", 1)[0]
        user = event.get("user")
        if user is not None:
            event["user"] = {"id": user.get("id")} if isinstance(user, dict) and user.get("id") else {}
        # "user" is scrubbed above; the key-name rule would otherwise filter the id too
        kept_user = event.pop("user", None)
        scrubbed: dict[str, Any] = self.value(event)
        if kept_user:
            scrubbed["user"] = kept_user
        return scrubbed

    def breadcrumb(self, crumb: dict[str, Any], _hint: dict[str, Any] | None = None) -> dict[str, Any]:
        scrubbed: dict[str, Any] = self.value(crumb)
        return scrubbed


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Scrub one event with no known secret values (the patterns and key names only)."""
    return Scrubber().event(event, hint)


def init_sentry(
    dsn: str,
    *,
    environment: str,
    release: str | None,
    traces_sample_rate: float,
    secrets: Iterable[str] = (),
) -> Scrubber:
    import sentry_sdk

    scrubber = Scrubber([dsn, *secrets])
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        # send_default_pii stays at its default (off); the SDK's own denylist scrubber stays on with it
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrubber.event,  # type: ignore[arg-type]
        before_send_transaction=scrubber.event,  # type: ignore[arg-type]
        before_breadcrumb=scrubber.breadcrumb,
    )
    return scrubber
