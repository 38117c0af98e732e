"""keel rollback as a user runs it: list, dry run, confirmation, -n, --revision, and the readiness check."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from keel.rollout.phases import Phase
from keel.rollout.state import Rollout
from keel.store import Store
from tests.keel.cli.releases import free_port, keel, result, write_spec

pytestmark = pytest.mark.slow


@pytest.fixture
def released(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """Three direct releases: revisions r1, r2, r3 (r3 serving)."""
    write_spec(tmp_path, free_port(), "direct")
    names = []
    try:
        for n in range(3):
            proc = keel("deploy", "--format", "json", "--set", f"REVISION=v{n}", cwd=tmp_path)
            assert proc.returncode == 0, proc.stderr
            names.append(result(proc)["revision"])
        yield tmp_path, names
    finally:
        keel("down", "--env", "local", cwd=tmp_path)


def traffic(directory: Path) -> dict[str, int]:
    status = json.loads(keel("status", "--format", "json", cwd=directory).stdout)
    return {r["name"]: r["weight"] for r in status["revisions"] if r["weight"]}


def test_list_dry_run_and_confirmation(released: tuple[Path, list[str]]) -> None:
    directory, (r1, r2, r3) = released
    listing = json.loads(keel("rollback", "--list", "--format", "json", cwd=directory).stdout)
    assert listing["traffic"] == {r3: 100}
    assert [(c["n"], c["revision"]) for c in listing["candidates"]] == [(1, r2), (2, r1)]

    dry = keel("rollback", "-n", "2", "--dry-run", cwd=directory)
    assert dry.returncode == 0 and f"would all traffic in local to {r1}" in dry.stdout
    assert traffic(directory) == {r3: 100}

    no_tty = keel("rollback", cwd=directory)
    assert no_tty.returncode == 2 and "refusing to prompt without a terminal" in no_tty.stderr
    assert traffic(directory) == {r3: 100}

    for bad in (["-n", "0"], ["-n", "3"], ["--revision", "nope-00001-xyz"], ["--revision", r3]):
        proc = keel("rollback", "--yes", *bad, cwd=directory)
        assert proc.returncode == 2, (bad, proc.stderr)
    assert traffic(directory) == {r3: 100}


def test_rollback_n_back_then_by_name_never_to_an_aborted_revision(released: tuple[Path, list[str]]) -> None:
    directory, (r1, r2, r3) = released
    back = keel("rollback", "--yes", "-n", "2", "--format", "json", cwd=directory)
    data = result(back)
    assert back.returncode == 0, back.stderr
    assert data["kind"] == "rollback" and data["phase"] == "rolled_back" and data["revision"] == r1
    assert data["rollback"]["verified"] and traffic(directory) == {r1: 100}

    store = Store(directory / ".keel" / "keel.db")
    store.set_revision_status("local", r2, "aborted")
    store.close()
    refused = keel("rollback", "--yes", "--revision", r2, cwd=directory)
    assert refused.returncode == 2 and "aborted during its own release" in refused.stderr
    forward = keel("rollback", "--yes", "--revision", r3, "--format", "json", cwd=directory)
    assert forward.returncode == 0 and traffic(directory) == {r3: 100}


def test_a_target_that_is_not_ready_is_reported_and_traffic_stays(released: tuple[Path, list[str]]) -> None:
    directory, (_, r2, _) = released
    spec = directory / "keel.yaml"
    text = spec.read_text().replace("path: /health/ready", "path: /fail")  # readiness now fails
    spec.write_text(text.replace("rollback: {passes: 2, deadline: 20s", "rollback: {passes: 2, deadline: 2s"))
    proc = keel("rollback", "--yes", "--format", "json", cwd=directory)
    data = result(proc)
    assert proc.returncode == 5
    assert data["phase"] == "rollback_failed" and "a human is needed" in data["reason"]
    assert traffic(directory) == {r2: 100}  # a manual rollback never triggers an automatic one


def test_a_deploy_killed_while_promoting_is_undone(released: tuple[Path, list[str]]) -> None:
    """kill -9 between the promoting and promoted records: the revision has all traffic and passed every gate.
    A promotion cannot be aborted, so keel rollback finishes recording it, then switches back and verifies
    (this used to exit 1 with "rollout cannot go from promoting to rolling_back")."""
    directory, (_, r2, r3) = released
    store = Store(directory / ".keel" / "keel.db")
    last = store.rollouts("local", limit=1)[0]
    assert last.revision == r3 and last.phase == "promoted"
    promoting = replace(Rollout.from_json(last.state), phase=Phase.PROMOTING, finished=None)
    store.save_transition(
        last.id, from_phase="holding", to_phase="promoting", reason="all steps passed", active=True,
        state=promoting.to_json(), at=time.time(), previous=last.previous,
    )  # fmt: skip
    store.close()
    assert traffic(directory) == {r3: 100}

    proc = keel("rollback", "--yes", "--format", "json", cwd=directory)
    assert proc.returncode == 0, proc.stderr
    data = result(proc)
    assert data["kind"] == "rollback" and data["phase"] == "rolled_back" and data["revision"] == r2
    assert data["action"] == "undo_interrupted" and data["rollback"]["verified"]
    assert traffic(directory) == {r2: 100}
    store = Store(directory / ".keel" / "keel.db")
    try:
        assert store.active_rollout("local") is None
        assert store.rollout(last.id).phase == "promoted"  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_first_deploy_killed_while_promoting_is_finished_and_the_rollback_refused(tmp_path: Path) -> None:
    """Nothing to go back to: keel rollback records the promotion the kill interrupted (the revision passed
    every gate and has all traffic), unlocks the environment and refuses with exit 2, saying why."""
    write_spec(tmp_path, free_port(), "direct")
    try:
        proc = keel("deploy", "--format", "json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        first = result(proc)["revision"]
        store = Store(tmp_path / ".keel" / "keel.db")
        last = store.rollouts("local", limit=1)[0]
        promoting = replace(Rollout.from_json(last.state), phase=Phase.PROMOTING, finished=None)
        store.save_transition(
            last.id, from_phase="holding", to_phase="promoting", reason="all steps passed", active=True,
            state=promoting.to_json(), at=time.time(), previous=None,
        )  # fmt: skip
        store.close()

        proc = keel("rollback", "--yes", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "first deploy interrupted while promoting" in proc.stderr
        assert f"{first} serves 100%" in proc.stderr and "Traceback" not in proc.stderr
        assert traffic(tmp_path) == {first: 100}
        store = Store(tmp_path / ".keel" / "keel.db")
        try:
            assert store.active_rollout("local") is None
            assert store.rollout(last.id).phase == "promoted"  # type: ignore[union-attr]
        finally:
            store.close()
        again = keel("deploy", "--format", "json", cwd=tmp_path)  # the environment is not left locked
        assert again.returncode == 0, again.stderr
    finally:
        keel("down", "--env", "local", cwd=tmp_path)


def test_a_platform_error_exits_1_and_changes_nothing(tmp_path: Path) -> None:
    """The documented exit 1: the rollback could not be carried out (here the router port is taken, so the
    local daemon cannot start); the message says why and no rollout is left behind."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        write_spec(tmp_path, taken.getsockname()[1], "direct")
        try:
            proc = keel("rollback", "--yes", cwd=tmp_path)
        finally:
            keel("down", "--env", "local", cwd=tmp_path)
    assert proc.returncode == 1
    assert "cannot listen on 127.0.0.1" in proc.stderr and "address already in use" in proc.stderr
    store = Store(tmp_path / ".keel" / "keel.db")
    try:
        assert store.active_rollout("local") is None and store.rollouts("local") == []
    finally:
        store.close()
