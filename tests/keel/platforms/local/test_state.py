"""The state directory: atomic private files, revision names, daemon.json ownership."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from keel.platforms.local.errors import LocalPlatformError
from keel.platforms.local.state import (
    DaemonInfo,
    PersistedState,
    RevisionRecord,
    StateDir,
    check_revision_name,
)


def test_state_round_trip_in_private_files(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "env")
    state.ensure()
    record = RevisionRecord("r1", ("bayit", "serve"), {"SECRET_KEY": "s"}, "/srv", 4100, 12.5, pid=77)
    state.write_state(PersistedState((record,), {"r1": 100}))
    assert state.read_state() == PersistedState((record,), {"r1": 100})
    assert stat.S_IMODE(state.state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o700
    assert list(state.path.glob(".*.tmp")) == []  # written through a temporary file, then renamed
    state.clear_state()
    assert state.read_state() == PersistedState()


def test_daemon_file_is_cleared_only_by_its_owner(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    info = DaemonInfo(pid=10, admin_port=1, router_port=2, token="t", started=0.0, service="s", env_name="e")
    state.write_daemon(info)
    assert state.read_daemon() == info
    assert info.admin_url == "http://127.0.0.1:1"
    state.clear_daemon(11)  # a newer daemon's file is left alone
    assert state.read_daemon() == info
    state.clear_daemon(10)
    assert state.read_daemon() is None


def test_unreadable_state_names_the_file(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.state_file.write_text("{not json")
    with pytest.raises(LocalPlatformError, match=r"state\.json: unreadable"):
        state.read_state()


@pytest.mark.parametrize("name", ["r1", "v2.0-canary", "a_b", "0abc"])
def test_good_revision_names(name: str) -> None:
    assert check_revision_name(name) == name


@pytest.mark.parametrize("name", ["", "R1", "../etc", "a/b", "-x", "x" * 64, "a b"])
def test_bad_revision_names(name: str) -> None:
    with pytest.raises(LocalPlatformError, match="not valid"):
        check_revision_name(name)
