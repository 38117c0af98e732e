"""The local encrypted file: versions, states, aliases; the key outside the project; values sealed."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from keel.secrets.backends.base import CURRENT, VersionState
from keel.secrets.backends.localfile import KEY_ENV, LocalFileBackend, load_key
from keel.secrets.backends.memory import MemoryBackend
from keel.secrets.errors import SecretNotFound, SecretsError

PLANTED = "sk-planted-0123456789abcdef"


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_versions_states_and_aliases(tmp_path: Path, key: bytes, kind: str) -> None:
    backend = LocalFileBackend(tmp_path / "s.json", key) if kind == "file" else MemoryBackend()
    assert backend.describe("api") is None
    one = backend.add_version("api", "first")
    two = backend.add_version("api", PLANTED)
    assert (one.version, two.version) == (1, 2)
    backend.set_alias("api", CURRENT, 1)
    assert backend.access("api", CURRENT) == "first"
    assert backend.access("api", "latest") == PLANTED
    assert backend.access("api", 2) == PLANTED
    backend.set_state("api", 2, VersionState.DISABLED)
    with pytest.raises(SecretNotFound):
        backend.access("api", 2)
    assert backend.access("api", "latest") == "first"
    backend.set_state("api", 2, VersionState.ENABLED)
    assert backend.access("api", 2) == PLANTED
    backend.set_state("api", 2, VersionState.DESTROYED)
    with pytest.raises(SecretsError):
        backend.set_state("api", 2, VersionState.ENABLED)
    info = backend.describe("api")
    assert info is not None
    assert [v.state for v in info.versions] == [VersionState.ENABLED, VersionState.DESTROYED]
    assert info.aliases == {CURRENT: 1}
    backend.set_alias("api", CURRENT, None)
    assert backend.describe("api").aliases == {}  # type: ignore[union-attr]
    with pytest.raises(SecretNotFound):
        backend.access("api", "current")


def test_the_file_holds_no_value_and_a_destroyed_one_is_gone(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "s.json"
    backend = LocalFileBackend(path, key)
    backend.add_version("api", PLANTED)
    text = path.read_text()
    assert PLANTED not in text and base64.urlsafe_b64encode(PLANTED.encode()).decode() not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backend.set_state("api", 1, VersionState.DESTROYED)
    assert "sealed" not in json.loads(path.read_text())["secrets"]["api"]["versions"][0]


def test_a_wrong_key_or_a_moved_value_cannot_be_read(tmp_path: Path, key: bytes) -> None:
    path = tmp_path / "s.json"
    backend = LocalFileBackend(path, key)
    backend.add_version("a", PLANTED)
    backend.add_version("a", "other")
    with pytest.raises(SecretsError, match="cannot be decrypted") as caught:
        LocalFileBackend(path, os.urandom(32)).access("a", 1)
    assert PLANTED not in str(caught.value)
    doc = json.loads(path.read_text())
    v1, v2 = doc["secrets"]["a"]["versions"]
    v2["nonce"], v2["sealed"] = v1["nonce"], v1["sealed"]  # swap version 1's value into version 2
    path.write_text(json.dumps(doc))
    with pytest.raises(SecretsError, match="cannot be decrypted"):
        backend.access("a", 2)


def test_the_key_file_is_created_0600_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    project = tmp_path / "project"
    project.mkdir()
    key_file = tmp_path / "home" / "keel" / "svc.key"
    key = load_key(key_file, create=True, project_dir=project)
    assert len(key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(key_file, create=False, project_dir=project) == key  # the same key next time
    with pytest.raises(SecretsError, match="inside the project"):
        load_key(project / ".keel" / "svc.key", create=True, project_dir=project)
    key_file.chmod(0o644)
    with pytest.raises(SecretsError, match="readable by others"):
        load_key(key_file, create=False, project_dir=project)


def test_the_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = os.urandom(32)
    monkeypatch.setenv(KEY_ENV, base64.urlsafe_b64encode(key).decode())
    assert load_key(tmp_path / "absent.key", create=False) == key
    monkeypatch.setenv(KEY_ENV, "too-short")
    with pytest.raises(SecretsError, match="expected 32 bytes"):
        load_key(tmp_path / "absent.key", create=False)


def test_writes_from_two_processes_lose_nothing(tmp_path: Path, key: bytes) -> None:
    import multiprocessing

    path = tmp_path / "s.json"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_many, args=(path, key, f"w{i}")) for i in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    backend = LocalFileBackend(path, key)
    info = backend.describe("shared")
    assert info is not None and len(info.versions) == 30
    assert sorted(v.version for v in info.versions) == list(range(1, 31))


def _add_many(path: Path, key: bytes, tag: str) -> None:
    backend = LocalFileBackend(path, key)
    for i in range(10):
        backend.add_version("shared", f"{tag}-{i}")
