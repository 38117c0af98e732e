"""Golden files: documented output pinned byte for byte. ``KEEL_UPDATE_GOLDEN=1 pytest ...`` rewrites them
(review the diff: a change to a golden file is a change to a documented schema)."""

from __future__ import annotations

import os
from pathlib import Path

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"


def assert_golden(name: str, text: str) -> None:
    path = TESTDATA / name
    if os.environ.get("KEEL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"golden file {path} is missing: run with KEEL_UPDATE_GOLDEN=1 to write it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file (KEEL_UPDATE_GOLDEN=1 rewrites it)"
