"""New secret values, database URLs with another login, and what each provider lets keel do with an old key."""

from __future__ import annotations

import secrets as random
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from keel.secrets.config import SecretType
from keel.secrets.errors import SecretsError

REDACTED = "***"

# Where an operator revokes an old key by hand: no provider's key can be revoked through an API keel may call
# with the key itself (OpenAI, Anthropic, ElevenLabs and Pinecone revoke in their consoles or admin APIs with
# other credentials; Stripe rolls keys in its dashboard; a Sentry DSN is a project client key).
REVOKE_WHERE: dict[SecretType, str] = {
    SecretType.OPENAI: "https://platform.openai.com/api-keys",
    SecretType.ANTHROPIC: "https://console.anthropic.com/settings/keys",
    SecretType.ELEVENLABS: "https://elevenlabs.io/app/settings/api-keys",
    SecretType.PINECONE: "the Pinecone console, API Keys of the project",
    SecretType.STRIPE: "https://dashboard.stripe.com/apikeys (roll the key, or delete the old one)",
    SecretType.SENTRY_DSN: "Sentry: Project Settings > Client Keys (DSN): disable the old key",
    SecretType.API_KEY: "the provider's console",
}


def signing_key(length: int) -> str:
    """A random key of ``length`` URL-safe characters (6 bits each)."""
    return random.token_urlsafe(length)[:length]


def database_url(base: str, role: str, password: str) -> str:
    """``base`` (the current URL) logging in as ``role`` with ``password`` instead."""
    parts = urlsplit(base)
    if not parts.hostname:
        raise SecretsError("the current database URL has no host: store a postgresql://... URL first")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def database_user(url: str) -> str:
    user = urlsplit(url).username
    if not user:
        raise SecretsError("the database URL names no user")
    return unquote(user)


def database_password(url: str) -> str:
    return unquote(urlsplit(url).password or "")


def scrub(text: str, values: Iterable[str]) -> str:
    """``text`` with every known secret value (and its URL-quoted form) replaced by ``***``."""
    for value in sorted({v for v in values if len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, REDACTED).replace(quote(value, safe=""), REDACTED)
    return text
