"""The output-format contract of smoke reports, and the registry that maps a format name to it."""

from __future__ import annotations

from typing import Protocol

from keel.errors import ConfigError
from keel.smoke.report import Outcome, Result, SmokeReport


class ReportFormat(Protocol):
    """Renders a whole report as text (what ``--output FILE`` writes)."""

    name: str

    def render(self, report: SmokeReport) -> str: ...


def names() -> tuple[str, ...]:
    return tuple(_registry())


def get_format(name: str) -> ReportFormat:
    """The format called ``name``; unknown names are a usage error (exit 2)."""
    registry = _registry()
    try:
        return registry[name]()
    except KeyError:
        raise ConfigError(f"unknown output format {name!r} (known: {', '.join(registry)})") from None


def _registry() -> dict[str, type[ReportFormat]]:
    from keel.smoke.formats.json import JsonFormat
    from keel.smoke.formats.junit import JunitFormat
    from keel.smoke.formats.markdown import MarkdownFormat
    from keel.smoke.formats.table import TableFormat

    return {f.name: f for f in (TableFormat, JsonFormat, JunitFormat, MarkdownFormat)}


def request_of(result: Result) -> str:
    return f"{result.method} {result.path}"


def detail_of(result: Result) -> str:
    """The one-line explanation shown beside a result."""
    if result.outcome is Outcome.failed and result.kind is not None:
        return f"{result.kind.value}: {result.message}"
    return result.message


def summary_line(report: SmokeReport) -> str:
    counts = report.counts
    verdict = "passed" if report.passed else "FAILED"
    against = f" against {report.base_url}"
    if report.baseline_url:
        against += f" (baseline {report.baseline_url})"
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    return (
        f"smoke suite {report.suite} {verdict}{against}: {counts['passed']} passed, {counts['failed']} failed"
        f"{skipped} in {report.duration_s:.2f}s"
    )
