"""The commit a release ships (sha and commit time), read from the CI's environment or ``git``, for lead time."""

from __future__ import annotations

import os
import re
import subprocess  # nosec B404: git with fixed arguments, no shell
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass(frozen=True)
class Commit:
    """``committed`` is the commit time (epoch seconds); None when only the sha is known."""

    sha: str
    committed: float | None
    source: str  # "KEEL_COMMIT_SHA", "GITHUB_SHA" or "git"


def _parse_time(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(  # nosec B603
            ["git", "-C", str(directory), *args],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _commit_time(directory: Path, sha: str) -> float | None:
    out = _git(directory, "show", "-s", "--format=%ct", sha)
    return _parse_time(out) if out else None


def detect_commit(directory: Path, environ: Mapping[str, str] | None = None) -> Commit | None:
    """KEEL_COMMIT_SHA (with KEEL_COMMIT_TIME, epoch or ISO 8601), else GITHUB_SHA, else ``git rev-parse HEAD``
    in ``directory``; the commit time comes from ``git`` when not given. None when nothing names a commit."""
    env = os.environ if environ is None else environ
    for name in ("KEEL_COMMIT_SHA", "GITHUB_SHA"):
        sha = env.get(name, "").strip()
        if _SHA.match(sha):
            given = _parse_time(env.get("KEEL_COMMIT_TIME", "")) if name == "KEEL_COMMIT_SHA" else None
            return Commit(sha, given if given is not None else _commit_time(directory, sha), name)
    head = _git(directory, "rev-parse", "HEAD")
    if head is None or not _SHA.match(head):
        return None
    return Commit(head, _commit_time(directory, head), "git")
