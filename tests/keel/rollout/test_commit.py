"""The commit a deploy ships: from the CI's environment or from git in the spec's directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

from keel.rollout.commit import detect_commit


def test_keel_variables_win_and_take_an_epoch_or_iso_time(tmp_path: Path) -> None:
    env = {"KEEL_COMMIT_SHA": "a" * 40, "KEEL_COMMIT_TIME": "1700000000", "GITHUB_SHA": "b" * 40}
    commit = detect_commit(tmp_path, env)
    assert commit is not None and (commit.sha, commit.committed, commit.source) == (
        "a" * 40,
        1.7e9,
        "KEEL_COMMIT_SHA",
    )


def test_github_sha_without_git_has_no_time(tmp_path: Path) -> None:
    commit = detect_commit(tmp_path, {"GITHUB_SHA": "b" * 40})
    assert commit is not None and commit.sha == "b" * 40 and commit.committed is None


def test_nothing_names_a_commit(tmp_path: Path) -> None:
    assert detect_commit(tmp_path, {"GITHUB_SHA": "not a sha"}) is None


def test_git_head_and_its_commit_time(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    (tmp_path / "keel.yaml").write_text("service: x\n")
    git("add", ".")
    env = {"GIT_COMMITTER_DATE": "2026-01-02T03:04:05+00:00", "GIT_AUTHOR_DATE": "2026-01-02T03:04:05+00:00"}
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
        check=True, env={**__import__("os").environ, **env},
    )  # fmt: skip
    commit = detect_commit(tmp_path, {})
    assert commit is not None and commit.source == "git"
    assert commit.sha == git("rev-parse", "HEAD").strip() and commit.committed == 1767323045.0
