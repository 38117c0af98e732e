"""The embedded default backend: versions in one JSON file, each value sealed with AES-256-GCM.

The key (32 random bytes) comes from ``$KEEL_SECRETS_KEY`` (base64url) or from a key file created 0600 outside
the project, so the encrypted file may sit in the project's ``.keel`` directory without the key beside it.
Each value is bound to its secret and version (GCM's associated data), so a value cannot be moved to another
version by editing the file. Writes are atomic (temporary file, fsync, rename) under an exclusive file lock.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets as random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keel.secrets.backends.base import (
    SecretInfo,
    SecretVersion,
    VersionState,
    check_alias,
    check_name,
)
from keel.secrets.backends.memory import resolve_version
from keel.secrets.errors import SecretNotFound, SecretsError
from keel.types import Clock

KEY_ENV = "KEEL_SECRETS_KEY"
FORMAT = 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode())


def default_key_file(service: str) -> Path:
    """``$XDG_CONFIG_HOME/keel/keys/<service>.key`` (``~/.config`` by default): in the user's home, not the
    project, so a committed or copied project never carries its key."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "keel" / "keys" / f"{service}.key"


def load_key(key_file: Path, *, create: bool, project_dir: Path | None = None) -> bytes:
    """The 32-byte key from ``$KEEL_SECRETS_KEY`` or the key file (made 0600 when ``create`` and absent)."""
    text = os.environ.get(KEY_ENV)
    source = f"${KEY_ENV}"
    if not text:
        path = key_file.expanduser().resolve()
        if project_dir is not None and path.is_relative_to(project_dir.resolve()):
            raise SecretsError(
                f"secrets key file {path} is inside the project {project_dir}: keep it outside "
                f"(the default is {default_key_file('<service>')}) or set {KEY_ENV}"
            )
        source = str(path)
        if not path.exists():
            if not create:
                raise SecretsError(f"secrets key file {path} does not exist (and {KEY_ENV} is not set)")
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as out:
                    out.write(_b64(random.token_bytes(32)) + "\n")
        if path.stat().st_mode & 0o077:
            raise SecretsError(f"secrets key file {path} is readable by others: chmod 600 {path}")
        text = path.read_text().strip()
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SecretsError(f"secrets key from {source}: expected 32 bytes, base64url-encoded")
    return key


class LocalFileBackend:
    """Secrets of one project in ``path`` (JSON; values AES-GCM sealed with ``key``)."""

    def __init__(self, path: Path, key: bytes, clock: Clock = time.time) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.path = path
        self._aead = AESGCM(key)
        self._clock = clock

    # --- reading ----------------------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"format": FORMAT, "secrets": {}}
        except (OSError, ValueError) as exc:
            raise SecretsError(f"secrets file {self.path}: unreadable ({type(exc).__name__})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SecretsError(f"secrets file {self.path}: not a keel secrets file (format {FORMAT})")
        return doc

    @staticmethod
    def _info(name: str, entry: dict[str, Any]) -> SecretInfo:
        versions = tuple(
            SecretVersion(int(v["version"]), VersionState(v["state"]), float(v["created"]))
            for v in entry["versions"]
        )
        return SecretInfo(name, float(entry["created"]), versions, dict(entry.get("aliases", {})))

    def names(self) -> list[str]:
        return sorted(self._read()["secrets"])

    def describe(self, name: str) -> SecretInfo | None:
        entry = self._read()["secrets"].get(name)
        return None if entry is None else self._info(name, entry)

    def access(self, name: str, version: int | str) -> str:
        from cryptography.exceptions import InvalidTag

        entry = self._read()["secrets"].get(name)
        info = None if entry is None else self._info(name, entry)
        number = resolve_version(info, name, version)
        assert entry is not None
        found = next((v for v in entry["versions"] if v["version"] == number), None)
        if found is None or found["state"] != VersionState.ENABLED:
            state = found["state"] if found else "missing"
            raise SecretNotFound(f"secret {name} version {version}: {state}")
        try:
            plain = self._aead.decrypt(_unb64(found["nonce"]), _unb64(found["sealed"]), _aad(name, number))
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretsError(
                f"secret {name} version {number}: cannot be decrypted with this key (wrong {KEY_ENV} or key "
                "file, or the file was edited)"
            ) from None
        return plain.decode()

    # --- writing ----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, Any]]:
        """Read, let the caller change, write atomically; one writer at a time across processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                doc = self._read()
                yield doc
                self._write(doc)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, doc: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(doc, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def add_version(self, name: str, value: str) -> SecretVersion:
        check_name(name)
        with self._editing() as doc:
            entry = doc["secrets"].setdefault(name, {"created": self._clock(), "versions": [], "aliases": {}})
            number = max((int(v["version"]) for v in entry["versions"]), default=0) + 1
            nonce = random.token_bytes(12)
            sealed = self._aead.encrypt(nonce, value.encode(), _aad(name, number))
            version = SecretVersion(number, VersionState.ENABLED, self._clock())
            entry["versions"].append(
                {"version": number, "state": version.state.value, "created": version.created,
                 "nonce": _b64(nonce), "sealed": _b64(sealed)}
            )  # fmt: skip
        return version

    def set_state(self, name: str, version: int, state: VersionState) -> None:
        with self._editing() as doc:
            entry = doc["secrets"].get(name)
            found = (
                None
                if entry is None
                else next((v for v in entry["versions"] if v["version"] == version), None)
            )
            if found is None:
                raise SecretNotFound(f"secret {name} version {version}: missing")
            if found["state"] == VersionState.DESTROYED and state is not VersionState.DESTROYED:
                raise SecretsError(f"secret {name} version {version}: destroyed, cannot be {state.value}")
            found["state"] = state.value
            if state is VersionState.DESTROYED:
                found.pop("nonce", None)
                found.pop("sealed", None)

    def set_alias(self, name: str, alias: str, version: int | None) -> None:
        check_alias(alias)
        with self._editing() as doc:
            entry = doc["secrets"].get(name)
            if entry is None or (
                version is not None and not any(v["version"] == version for v in entry["versions"])
            ):
                raise SecretNotFound(f"secret {name} version {version}: missing")
            aliases = entry.setdefault("aliases", {})
            aliases.pop(alias, None)
            if version is not None:
                aliases[alias] = version


def _aad(name: str, version: int) -> bytes:
    return f"keel-secret:{name}:{version}".encode()
