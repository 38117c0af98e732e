"""Output formats shared by every command: a report renders itself as JSON or Markdown through these."""

from __future__ import annotations

import json
from typing import Any, Protocol

from keel.plugins import Registry


class Report(Protocol):
    """A command's typed result: a stable JSON document (CI parses it) and a Markdown summary."""

    def to_json(self) -> dict[str, Any]: ...

    def to_markdown(self) -> str: ...


class ReportFormat(Protocol):
    name: str

    def render(self, report: Report) -> str: ...


class JsonFormat:
    """Indented, keys sorted: the documented schema of each report."""

    name = "json"

    def render(self, report: Report) -> str:
        return json.dumps(report.to_json(), indent=2, sort_keys=True, default=str) + "\n"


class MarkdownFormat:
    """For CI job summaries and pull-request comments."""

    name = "markdown"

    def render(self, report: Report) -> str:
        text = report.to_markdown()
        return text if text.endswith("\n") else text + "\n"


FORMATS: Registry[type[ReportFormat]] = Registry(
    "output format", {"json": "keel.output:JsonFormat", "markdown": "keel.output:MarkdownFormat"}
)


def render(report: Report, name: str) -> str:
    """``report`` in the format called ``name`` (json or markdown)."""
    return FORMATS.load(name)().render(report)


def markdown_cell(text: str) -> str:
    """Text made safe for one Markdown table cell: pipes and backslashes escaped, one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "
