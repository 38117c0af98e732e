"""The terminal table: one row per result, the failure kind beside each failure, and the verdict."""

from __future__ import annotations

from keel.smoke import SmokeReport
from keel.smoke.formats.table import TableFormat


def test_table_report(report: SmokeReport) -> None:
    text = TableFormat().render(report)
    assert "PASS" in text and "FAIL" in text and "SKIP" in text
    assert "assertion_failed: items: expected length <= 5, got 7" in text
    assert "regression: slower" in text
    assert text.rstrip().splitlines()[-1].startswith("smoke suite demo FAILED")
