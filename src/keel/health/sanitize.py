"""Scrub dependency error text so no credential, connection string, key or host name reaches a response."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit

REDACTED = "<redacted>"
MAX_MESSAGE = 240

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>()\[\]{},]+")
_USERINFO = re.compile(r"[^\s/@:'\"]+:[^\s/@'\"]*@")
_ASSIGNMENT = re.compile(
    r"(?i)\b([a-z_\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|auth|credential|dsn|key)[a-z_\-]*)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&)]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_PROVIDER_KEY = re.compile(r"\b(?:sk|pk|rk|xi|pcsk|sk-ant)[-_][A-Za-z0-9_\-]{8,}")
_LONG_TOKEN = re.compile(r"\b(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{20,}\b")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
_HOSTNAME = re.compile(
    r"\b(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z][a-zA-Z0-9\-]{1,62}\b"
)


def secret_variants(value: str) -> set[str]:
    """A secret as it may appear in text: raw, URL-quoted and form-quoted."""
    if not value:
        return set()
    return {value, quote(value, safe=""), quote_plus(value)}


def url_secrets(url: str) -> set[str]:
    """The parts of a connection URL that must never be shown: the URL itself, user, password and host."""
    found = secret_variants(url)
    try:
        parts = urlsplit(url)
        for part in (parts.password or "", parts.username or ""):
            found |= secret_variants(part) | secret_variants(unquote(part))
        for host in (parts.hostname or "").split(","):
            if host and host not in ("localhost",):
                found |= secret_variants(host)
    except ValueError:
        pass
    return found


class Sanitizer:
    """Removes planted secrets (exact values) and anything that looks like one (patterns) from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            values |= secret_variants(secret)
        # Longest first, so a URL is removed before the password inside it; short strings are too
        # ambiguous to match as substrings (a 2-letter user name would blank out words).
        self._secrets = sorted((v for v in values if len(v) >= 4), key=len, reverse=True)

    def with_secrets(self, secrets: Iterable[str]) -> Sanitizer:
        return Sanitizer([*self._secrets, *secrets])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _URL.sub("<url>", text)
        text = _USERINFO.sub(REDACTED + "@", text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        text = _PROVIDER_KEY.sub(REDACTED, text)
        text = _LONG_TOKEN.sub(REDACTED, text)
        text = _IPV4.sub("<host>", text)
        text = _IPV6.sub("<host>", text)
        text = _HOSTNAME.sub("<host>", text)
        text = " ".join(text.split())
        if len(text) > MAX_MESSAGE:
            text = text[: MAX_MESSAGE - 3] + "..."
        return text

    def exception(self, exc: BaseException) -> str:
        """``TypeName: scrubbed text`` for an exception, walking one level of cause for a better reason."""
        text = str(exc)
        if not text and exc.__cause__ is not None:
            text = str(exc.__cause__)
        name = type(exc).__name__
        return self(f"{name}: {text}") if text else name
