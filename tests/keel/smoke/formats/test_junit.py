"""The JUnit XML report: one testsuite per group, failures typed by kind, skips marked."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from keel.smoke import SmokeReport
from keel.smoke.formats.junit import JunitFormat


def test_junit_report(report: SmokeReport) -> None:
    text = JunitFormat().render(report)
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "2", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"demo.health", "demo.api", "demo.flow", "demo.latency", "demo.compare"}
    failure = suites["demo.api"].find("testcase/failure")
    assert failure is not None and failure.get("type") == "assertion_failed"
    assert '<b>&"' in (failure.get("message") or "")  # escaped on the way out, intact on the way in
    assert suites["demo.flow"].find("testcase/skipped") is not None
    assert suites["demo.compare"].find("testcase/failure").get("type") == "regression"  # type: ignore[union-attr]
