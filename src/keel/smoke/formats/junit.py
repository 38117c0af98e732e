"""The JUnit XML report: what CI systems (GitHub, GitLab, Jenkins) display as test results."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from keel.smoke.formats.base import request_of
from keel.smoke.report import Outcome, Result, SmokeReport


def _group(result: Result) -> str:
    return result.check.split("/", 1)[0]


class JunitFormat:
    name = "junit"

    def render(self, report: SmokeReport) -> str:
        by_group: dict[str, list[Result]] = defaultdict(list)
        for result in report.results:
            by_group[_group(result)].append(result)
        counts = report.counts
        root = ET.Element(
            "testsuites",
            name=f"keel smoke {report.suite}",
            tests=str(counts["total"]),
            failures=str(counts["failed"]),
            skipped=str(counts["skipped"]),
            errors="0",
            time=f"{report.duration_s:.3f}",
        )
        for group, results in by_group.items():
            suite = ET.SubElement(
                root,
                "testsuite",
                name=f"{report.suite}.{group}",
                tests=str(len(results)),
                failures=str(sum(r.outcome is Outcome.failed for r in results)),
                skipped=str(sum(r.outcome is Outcome.skipped for r in results)),
                errors="0",
                timestamp=report.started_at,
            )
            for result in results:
                duration = getattr(result, "duration_s", 0.0)
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"{report.suite}.{group}",
                    name=result.check.split("/", 1)[1],
                    time=f"{duration:.3f}",
                )
                if result.outcome is Outcome.failed:
                    kind = result.kind.value if result.kind else "failed"
                    failure = ET.SubElement(case, "failure", type=kind, message=f"{kind}: {result.message}")
                    failure.text = f"{request_of(result)}\n{kind}: {result.message}"
                elif result.outcome is Outcome.skipped:
                    ET.SubElement(case, "skipped", message=result.message)
                elif result.message:
                    ET.SubElement(case, "system-out").text = result.message
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
