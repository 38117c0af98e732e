"""Choosing a manual rollback target: -n served revisions back, --revision, never an aborted one."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.platforms.base import Revision, RevisionState
from keel.rollout.errors import RollbackRefused
from keel.rollout.targets import candidates, choose_target
from keel.store import Store


def rev(name: str) -> Revision:
    return Revision(name, f"http://{name}", 0.0, RevisionState.RUNNING)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "k.db")
    for i, name in enumerate(["v1", "v2", "v3", "v4"]):
        s.record_revision("local", name, float(i), f"r{i}", {})
        s.record_serving("local", name, float(i), f"r{i}", "promoted")
    s.record_revision("local", "v5", 9.0, "r5", {})
    s.set_revision_status("local", "v5", "aborted")
    return s


ON_PLATFORM = [rev("v2"), rev("v3"), rev("v4"), rev("v5")]


def test_candidates_are_served_revisions_newest_first(store: Store) -> None:
    found = candidates(store, "local", "v4", ON_PLATFORM)
    assert [(c.n, c.revision, c.available) for c in found] == [
        (1, "v3", True),
        (2, "v2", True),
        (3, "v1", False),
    ]


def test_steps_back(store: Store) -> None:
    assert choose_target(store, "local", "v4", ON_PLATFORM) == "v3"
    assert choose_target(store, "local", "v4", ON_PLATFORM, steps_back=2) == "v2"
    with pytest.raises(RollbackRefused, match=r"v1 \(3 back\) no longer exists"):
        choose_target(store, "local", "v4", ON_PLATFORM, steps_back=3)
    with pytest.raises(RollbackRefused, match="only 3 earlier served"):
        choose_target(store, "local", "v4", ON_PLATFORM, steps_back=4)
    with pytest.raises(RollbackRefused, match="1 or more"):
        choose_target(store, "local", "v4", ON_PLATFORM, steps_back=0)


def test_explicit_revision(store: Store) -> None:
    assert choose_target(store, "local", "v4", ON_PLATFORM, revision="v2") == "v2"
    with pytest.raises(RollbackRefused, match="aborted"):
        choose_target(store, "local", "v4", ON_PLATFORM, revision="v5")
    with pytest.raises(RollbackRefused, match="already serves"):
        choose_target(store, "local", "v4", ON_PLATFORM, revision="v4")
    with pytest.raises(RollbackRefused, match="does not exist"):
        choose_target(store, "local", "v4", ON_PLATFORM, revision="v9")


def test_an_aborted_revision_that_once_served_is_still_skipped(store: Store) -> None:
    store.record_serving("local", "v5", 10.0, "r5", "manual")
    store.record_serving("local", "v4", 11.0, "r6", "manual")
    assert [c.revision for c in candidates(store, "local", "v4", ON_PLATFORM)] == ["v3", "v2", "v1"]


def test_first_deploy_has_nothing_to_roll_back_to(tmp_path: Path) -> None:
    s = Store(tmp_path / "k.db")
    s.record_serving("local", "v1", 1.0, "r1", "promoted")
    with pytest.raises(RollbackRefused, match="first deploy has no rollback target"):
        choose_target(s, "local", "v1", [rev("v1")])
