"""Google Secret Manager through the official client (``google-cloud-secret-manager``, REST transport).

Aliases are Secret Manager's version aliases; states are its ENABLED/DISABLED/DESTROYED. The endpoint is
Google's, or ``secrets.backend.endpoint`` / ``$SECRET_MANAGER_EMULATOR_HOST`` for a local server speaking the
same API (reached without credentials, so only on a loopback address)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from keel.platforms.cloudrun.config import is_loopback, split_endpoint
from keel.secrets.backends.base import (
    SecretInfo,
    SecretVersion,
    VersionState,
    check_alias,
    check_name,
)
from keel.secrets.config import GcpBackendConfig
from keel.secrets.errors import SecretNotFound, SecretsError

EMULATOR_HOST_ENV = "SECRET_MANAGER_EMULATOR_HOST"
T = TypeVar("T")


def endpoint(config: GcpBackendConfig, environ: Mapping[str, str]) -> tuple[str | None, bool]:
    """(API endpoint URL or None for Google's, whether it is reached anonymously: a loopback emulator)."""
    emulator = environ.get(EMULATOR_HOST_ENV, "").strip()
    chosen = config.endpoint or emulator or None
    if chosen is None:
        return None, False
    scheme, host = split_endpoint(chosen)
    loopback = is_loopback(host.rsplit(":", 1)[0] if not host.endswith("]") else host)
    if emulator and not config.endpoint and not loopback:
        raise SecretsError(
            f"{EMULATOR_HOST_ENV}={emulator}: an emulator is reached without credentials, so only on a loopback "
            "address (127.0.0.1, ::1, localhost)"
        )
    if scheme == "http" and not loopback:
        raise SecretsError(f"secrets.backend.endpoint {chosen!r}: plain http only to a loopback address")
    return f"{scheme}://{host}", loopback


class SecretManagerBackend:
    def __init__(self, project: str, client: Any) -> None:
        self.project = project
        self._client = client

    @classmethod
    def from_config(
        cls, config: GcpBackendConfig, environ: Mapping[str, str] | None = None
    ) -> SecretManagerBackend:
        from google.cloud import secretmanager_v1

        url, anonymous = endpoint(config, os.environ if environ is None else environ)
        kwargs: dict[str, Any] = {"transport": "rest"}
        if url is not None:
            kwargs["client_options"] = {"api_endpoint": url}
        if anonymous:
            from google.auth.credentials import AnonymousCredentials

            kwargs["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
        try:
            client = secretmanager_v1.SecretManagerServiceClient(**kwargs)
        except Exception as exc:  # google.auth DefaultCredentialsError and friends
            raise SecretsError(
                f"Secret Manager ({config.project}): cannot create a client ({type(exc).__name__}); run "
                "`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
            ) from None
        return cls(config.project, client)

    def _secret(self, name: str) -> str:
        return f"projects/{self.project}/secrets/{check_name(name)}"

    def _call(self, what: str, call: Callable[[], T]) -> T:
        from google.api_core import exceptions

        try:
            return call()
        except exceptions.NotFound:
            raise SecretNotFound(f"Secret Manager ({self.project}): {what}: not found") from None
        except exceptions.BadRequest as exc:
            # FAILED_PRECONDITION (a disabled or destroyed version) arrives as HTTP 400
            if " state." in str(exc.message):
                raise SecretNotFound(f"Secret Manager ({self.project}): {what}: {exc.message}") from None
            raise SecretsError(f"Secret Manager ({self.project}): {what}: {exc.message}") from None
        except exceptions.GoogleAPIError as exc:
            # Google's messages name resources, never payloads
            raise SecretsError(f"Secret Manager ({self.project}): {what}: {exc}") from None

    def names(self) -> list[str]:
        pages = self._call(
            "list secrets", lambda: self._client.list_secrets(parent=f"projects/{self.project}")
        )
        return sorted(s.name.rsplit("/", 1)[-1] for s in pages)

    def describe(self, name: str) -> SecretInfo | None:
        from google.api_core import exceptions

        path = self._secret(name)
        try:
            secret = self._client.get_secret(name=path)
        except exceptions.NotFound:
            return None
        except exceptions.GoogleAPIError as exc:
            raise SecretsError(f"Secret Manager ({self.project}): read {name}: {exc}") from None
        listed = self._call(
            f"list versions of {name}", lambda: list(self._client.list_secret_versions(parent=path))
        )
        versions = sorted(
            (
                SecretVersion(
                    int(v.name.rsplit("/", 1)[-1]), _STATES[int(v.state)], v.create_time.timestamp()
                )
                for v in listed
            ),
            key=lambda v: v.version,
        )
        aliases = {alias: int(number) for alias, number in secret.version_aliases.items()}
        return SecretInfo(name, secret.create_time.timestamp(), tuple(versions), aliases)

    def add_version(self, name: str, value: str) -> SecretVersion:
        from google.api_core import exceptions

        path = self._secret(name)
        try:
            self._client.create_secret(
                parent=f"projects/{self.project}", secret_id=name,
                secret={"replication": {"automatic": {}}, "labels": {"managed-by": "keel"}},
            )  # fmt: skip
        except exceptions.Conflict:  # ALREADY_EXISTS arrives as HTTP 409
            pass
        except exceptions.GoogleAPIError as exc:
            raise SecretsError(f"Secret Manager ({self.project}): create {name}: {exc}") from None
        added = self._call(
            f"add a version to {name}",
            lambda: self._client.add_secret_version(parent=path, payload={"data": value.encode()}),
        )
        return SecretVersion(
            int(added.name.rsplit("/", 1)[-1]), VersionState.ENABLED, added.create_time.timestamp()
        )

    def access(self, name: str, version: int | str) -> str:
        path = f"{self._secret(name)}/versions/{version}"
        answer = self._call(
            f"access {name} version {version}", lambda: self._client.access_secret_version(name=path)
        )
        data: bytes = answer.payload.data
        return data.decode()

    def set_state(self, name: str, version: int, state: VersionState) -> None:
        path = f"{self._secret(name)}/versions/{version}"
        calls = {
            VersionState.ENABLED: self._client.enable_secret_version,
            VersionState.DISABLED: self._client.disable_secret_version,
            VersionState.DESTROYED: self._client.destroy_secret_version,
        }
        self._call(
            f"{state.value[:-1]} {name} version {version}", lambda: calls[state](request={"name": path})
        )

    def set_alias(self, name: str, alias: str, version: int | None) -> None:
        check_alias(alias)
        path = self._secret(name)
        secret = self._call(f"read {name}", lambda: self._client.get_secret(name=path))
        aliases = {k: int(v) for k, v in secret.version_aliases.items() if k != alias}
        if version is not None:
            aliases[alias] = version
        self._call(
            f"set alias {alias} of {name}",
            lambda: self._client.update_secret(
                secret={"name": path, "version_aliases": aliases}, update_mask={"paths": ["version_aliases"]}
            ),
        )


_STATES = {1: VersionState.ENABLED, 2: VersionState.DISABLED, 3: VersionState.DESTROYED}
