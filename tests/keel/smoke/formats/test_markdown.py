"""The Markdown report: a heading with the verdict and a table that survives pipes in messages."""

from __future__ import annotations

from keel.smoke import SmokeReport
from keel.smoke.formats.markdown import MarkdownFormat


def test_markdown_report(report: SmokeReport) -> None:
    text = MarkdownFormat().render(report)
    lines = text.splitlines()
    assert lines[0].startswith("### ❌ smoke suite demo FAILED")
    rows = [line for line in lines if line.startswith("| ")]
    assert len(rows) == 1 + 5  # header and one row per result
    failed = next(r for r in rows if "api/items" in r)
    assert r"got 7 \| <b>" in failed and r"/items?a=1\|2" in failed
    # Every row has the same number of unescaped cell separators.
    assert {r.replace(r"\|", "").count("|") for r in rows} == {5}
