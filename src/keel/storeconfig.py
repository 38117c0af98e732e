"""Where keel keeps its state: keel.yaml's ``store:`` key, a SQLite file or a PostgreSQL URL, resolved."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from keel.durations import Duration
from keel.errors import ConfigError

STORE_URL_ENV = "KEEL_STORE_URL"
DEFAULT_LOCK_TTL = 45.0  # three missed heartbeats (every 15 s) and a lock held on another machine is stale

_POSTGRES_SCHEMES = ("postgresql", "postgres")
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class StoreSpec(BaseModel):
    """``store: sqlite:///relative/path`` (``sqlite:////absolute``) or ``postgresql://user@host:port/db``;
    the mapping form adds ``password_env`` (the variable that holds the password) and ``lock_ttl``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    password_env: str | None = Field(default=None, pattern=_ENV_NAME)
    lock_ttl: Duration = Field(default=DEFAULT_LOCK_TTL, ge=3.0)

    @model_validator(mode="before")
    @classmethod
    def _from_url(cls, data: Any) -> Any:
        return {"url": data} if isinstance(data, str) else data

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str | None) -> str | None:
        if url is None:
            return None
        check_url(url)
        if urlsplit(url).password is not None:
            raise ValueError(
                "the URL holds a password; keep secrets out of keel.yaml: name the environment variable "
                "that holds it with store.password_env (or use PGPASSWORD, ~/.pgpass or KEEL_STORE_URL)"
            )
        return url


def check_url(url: str) -> None:
    """A ValueError (fit to show, without the URL's password) unless ``url`` is a store URL keel speaks."""
    scheme = urlsplit(url).scheme.split("+", 1)[0].lower()
    if scheme == "sqlite":
        if not url.lower().startswith("sqlite:///") or url.rstrip("/").lower() == "sqlite:":
            raise ValueError("a SQLite store is sqlite:///relative/path or sqlite:////absolute/path")
        return
    if scheme not in _POSTGRES_SCHEMES:
        raise ValueError(
            f"unsupported store URL scheme {scheme or '(none)'!r}: use sqlite:///path or postgresql://user@host/db"
        )


@dataclass(frozen=True)
class SqliteLocation:
    path: Path

    @property
    def display(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class PostgresLocation:
    """A PostgreSQL database; ``display`` is the URL without its password, the only form keel shows."""

    url: str
    password: str | None = None

    @property
    def conninfo(self) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))

    @property
    def display(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = (f"{parts.username}@" if parts.username else "") + host
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit(("postgresql", netloc, parts.path, "", ""))


StoreLocation = SqliteLocation | PostgresLocation


def parse_location(url: str, base_dir: Path, password: str | None = None) -> StoreLocation:
    """A store URL as a location; a relative SQLite path is relative to ``base_dir`` (keel.yaml's folder)."""
    try:
        check_url(url)
    except ValueError as exc:
        raise ConfigError(f"store URL: {exc}") from None
    if url.lower().startswith("sqlite:"):
        path = Path(url[len("sqlite:///") :])
        return SqliteLocation(path if path.is_absolute() else base_dir / path)
    return PostgresLocation(url, password)


def resolve(
    spec: StoreSpec, base_dir: Path, default: Path, environ: Mapping[str, str] | None = None
) -> StoreLocation:
    """The store a command uses: ``$KEEL_STORE_URL``, else keel.yaml's ``store``, else the default SQLite file.
    The password comes from the variable ``password_env`` names (libpq also reads PGPASSWORD and ~/.pgpass)."""
    env = os.environ if environ is None else environ
    url = env.get(STORE_URL_ENV) or spec.url
    if not url:
        return SqliteLocation(default)
    password = None
    if spec.password_env and urlsplit(url).password is None:  # $KEEL_STORE_URL may carry its own
        password = env.get(spec.password_env)
        if not password and url.lower().startswith(_POSTGRES_SCHEMES):
            raise ConfigError(
                f"store.password_env: the environment variable {spec.password_env} is not set "
                "(it holds the store's password)"
            )
    return parse_location(url, base_dir, password)


def redact(text: str, location: StoreLocation) -> str:
    """``text`` with the location's password (if any) masked: error messages of drivers may quote the URL."""
    secrets = [location.password] if isinstance(location, PostgresLocation) and location.password else []
    if isinstance(location, PostgresLocation):
        inline = urlsplit(location.url).password
        if inline:
            secrets.append(inline)
    for secret in secrets:
        text = text.replace(secret, "***")
    return re.sub(r"(postgres(?:ql)?(?:\+\w+)?://[^:/@\s]*):[^@\s]*@", r"\1:***@", text)
