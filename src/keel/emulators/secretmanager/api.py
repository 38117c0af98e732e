"""Secret Manager's resources and rules, in memory: what the REST server answers (JSON as Google writes it)."""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
MAX_PAYLOAD = 64 * 1024


class ApiError(Exception):
    """An error in Google's JSON shape (``google.rpc.Status`` over HTTP)."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def _time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Version:
    number: int
    created: float
    data: bytes | None
    state: str = "ENABLED"
    destroyed: float | None = None


@dataclass
class _Secret:
    name: str
    created: float
    labels: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[_Version] = field(default_factory=list)
    etag: int = 1


class SecretManagerApi:
    def __init__(self) -> None:
        self._secrets: dict[str, _Secret] = {}

    # --- secrets ----------------------------------------------------------------------------------------------

    def _secret(self, name: str) -> _Secret:
        found = self._secrets.get(name)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"Secret [{name}] not found or has no versions.")
        return found

    @staticmethod
    def _secret_json(s: _Secret) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": s.name, "replication": {"automatic": {}}, "createTime": _time(s.created),
            "etag": f'"{s.etag}"',
        }  # fmt: skip
        if s.labels:
            body["labels"] = dict(s.labels)
        if s.aliases:
            body["versionAliases"] = {k: str(v) for k, v in s.aliases.items()}
        return body

    def create_secret(self, project: str, secret_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not _SECRET_ID.match(secret_id):
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid secret id {secret_id!r}.")
        name = f"projects/{project}/secrets/{secret_id}"
        if name in self._secrets:
            raise ApiError(409, "ALREADY_EXISTS", f"Secret [{name}] already exists.")
        secret = _Secret(name, time.time(), labels=dict(body.get("labels") or {}))
        self._secrets[name] = secret
        return self._secret_json(secret)

    def get_secret(self, name: str) -> dict[str, Any]:
        return self._secret_json(self._secret(name))

    def list_secrets(self, project: str) -> dict[str, Any]:
        prefix = f"projects/{project}/secrets/"
        found = [self._secret_json(s) for n, s in sorted(self._secrets.items()) if n.startswith(prefix)]
        return {"secrets": found, "totalSize": len(found)}

    def update_secret(self, name: str, body: dict[str, Any], mask: tuple[str, ...]) -> dict[str, Any]:
        secret = self._secret(name)
        if not mask:
            raise ApiError(400, "INVALID_ARGUMENT", "update_mask is required.")
        for path in mask:
            if path in ("versionAliases", "version_aliases"):
                aliases: dict[str, int] = {}
                for alias, version in (body.get("versionAliases") or {}).items():
                    number = int(version)
                    if not _ALIAS.match(alias) or alias == "latest":
                        raise ApiError(400, "INVALID_ARGUMENT", f"Invalid version alias {alias!r}.")
                    if not any(v.number == number for v in secret.versions):
                        raise ApiError(
                            400,
                            "INVALID_ARGUMENT",
                            f"Version alias {alias!r} refers to a missing version {number}.",
                        )
                    aliases[alias] = number
                secret.aliases = aliases
            elif path == "labels":
                secret.labels = dict(body.get("labels") or {})
            else:
                raise ApiError(400, "INVALID_ARGUMENT", f"Unsupported update_mask path {path!r}.")
        secret.etag += 1
        return self._secret_json(secret)

    def delete_secret(self, name: str) -> dict[str, Any]:
        self._secret(name)
        del self._secrets[name]
        return {}

    # --- versions ---------------------------------------------------------------------------------------------

    def _version_json(self, secret: _Secret, v: _Version) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": f"{secret.name}/versions/{v.number}", "createTime": _time(v.created), "state": v.state,
            "replicationStatus": {"automatic": {}},
        }  # fmt: skip
        if v.destroyed is not None:
            body["destroyTime"] = _time(v.destroyed)
        return body

    def add_version(self, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        secret = self._secret(parent)
        try:
            data = base64.b64decode((body.get("payload") or {}).get("data", ""), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_ARGUMENT", "payload.data must be base64.") from None
        if not data or len(data) > MAX_PAYLOAD:
            raise ApiError(400, "INVALID_ARGUMENT", "Secret payload must be 1 byte to 64 KiB.")
        version = _Version((secret.versions[-1].number if secret.versions else 0) + 1, time.time(), data)
        secret.versions.append(version)
        return self._version_json(secret, version)

    def _version(self, name: str) -> tuple[_Secret, _Version]:
        parent, _, ref = name.rpartition("/versions/")
        secret = self._secret(parent)
        if ref == "latest":
            enabled = [v for v in secret.versions if v.state == "ENABLED"]
            if not enabled:
                raise ApiError(404, "NOT_FOUND", f"Secret [{parent}] not found or has no versions.")
            return secret, enabled[-1]
        number = secret.aliases.get(ref) if not ref.isdigit() else int(ref)
        found = next((v for v in secret.versions if v.number == number), None)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"Secret Version [{name}] not found.")
        return secret, found

    def get_version(self, name: str) -> dict[str, Any]:
        return self._version_json(*self._version(name))

    def list_versions(self, parent: str) -> dict[str, Any]:
        secret = self._secret(parent)
        versions = [
            self._version_json(secret, v) for v in reversed(secret.versions)
        ]  # newest first, as Google
        return {"versions": versions, "totalSize": len(versions)}

    def access(self, name: str) -> dict[str, Any]:
        secret, version = self._version(name)
        if version.state != "ENABLED" or version.data is None:
            raise ApiError(
                400, "FAILED_PRECONDITION", f"Secret Version [{secret.name}/versions/{version.number}] is in "
                f"{version.state} state."
            )  # fmt: skip
        return {
            "name": f"{secret.name}/versions/{version.number}",
            "payload": {"data": base64.b64encode(version.data).decode()},
        }

    def set_state(self, name: str, state: str) -> dict[str, Any]:
        secret, version = self._version(name)
        if version.state == "DESTROYED":
            raise ApiError(
                400, "FAILED_PRECONDITION",
                f"Secret Version [{secret.name}/versions/{version.number}] is in DESTROYED state.",
            )  # fmt: skip
        version.state = state
        if state == "DESTROYED":
            version.data = None
            version.destroyed = time.time()
        return self._version_json(secret, version)
