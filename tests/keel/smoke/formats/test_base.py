"""The format registry refuses unknown names; the summary line counts every result."""

from __future__ import annotations

import pytest

from keel.errors import ConfigError
from keel.smoke import SmokeReport
from keel.smoke.formats.base import get_format, names, summary_line


def test_registry() -> None:
    assert names() == ("table", "json", "junit", "markdown")
    assert all(get_format(n).name == n for n in names())
    with pytest.raises(ConfigError, match="unknown output format 'xml'"):
        get_format("xml")


def test_summary_line(report: SmokeReport) -> None:
    line = summary_line(report)
    assert line.startswith(
        "smoke suite demo FAILED against http://127.0.0.1:8080 (baseline http://127.0.0.1:9090)"
    )
    assert "2 passed, 2 failed, 1 skipped in 1.25s" in line
