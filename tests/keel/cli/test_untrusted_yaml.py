"""keel.yaml and smoke.yaml are untrusted input: alias bombs, huge files and deep nesting are refused by the
real CLI with exit 2 and one line naming the file and line, before anything starts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.keel.cli.releases import keel
from tests.keel.test_yamlfile import billion_laughs


def _bomb(path: Path) -> str:
    path.write_text("service: x\n" + billion_laughs())
    return f"{path.name}:7: YAML expands to more than 20,000 nodes (counting each alias use): refused"


def _huge(path: Path) -> str:
    with path.open("wb") as f:
        f.write(b"service: x\nnote: ")
        f.write(b"x" * (50 * 1024 * 1024))
    return f"{path.name}: file is larger than 262,144 bytes (52,428,817 or more): refused"


def _deep_sequences(path: Path) -> str:
    path.write_text("[" * 10_000 + "]" * 10_000)
    return f"{path.name}:1: YAML nested more than 64 levels deep (counting through aliases): refused"


def _deep_mappings(path: Path) -> str:
    path.write_text("{a: " * 10_000 + "1" + "}" * 10_000)
    return f"{path.name}:1: YAML nested more than 64 levels deep (counting through aliases): refused"


CASES: dict[str, Callable[[Path], str]] = {
    "billion-laughs": _bomb,
    "50-MB": _huge,
    "10000-deep-sequences": _deep_sequences,
    "10000-deep-mappings": _deep_mappings,
}


def _refused_once(proc_stderr: str, expected: str) -> None:
    lines = proc_stderr.strip().splitlines()
    assert len(lines) == 1, proc_stderr
    assert lines[0].endswith(expected), lines[0]


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_keel_deploy_refuses_a_hostile_keel_yaml_before_anything_starts(
    make: Callable[[Path], str], tmp_path: Path
) -> None:
    expected = make(tmp_path / "keel.yaml")
    start = time.monotonic()
    proc = keel("deploy", "--env", "local", cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    _refused_once(proc.stderr, expected)
    assert not (tmp_path / ".keel").exists()  # no state, no lock, no process
    # The whole process (interpreter and CLI start-up included); the bomb alone ran for minutes before.
    assert elapsed < 15


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_keel_smoke_refuses_a_hostile_smoke_yaml_before_sending_a_request(
    make: Callable[[Path], str], tmp_path: Path
) -> None:
    expected = make(tmp_path / "smoke.yaml")
    proc = keel("smoke", "http://127.0.0.1:9/", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    _refused_once(proc.stderr, expected)
    assert proc.stdout == ""
