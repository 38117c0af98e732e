"""The report: what counts as passed, and the failures the deploy gate reads."""

from __future__ import annotations

from keel.smoke import CheckResult, FailureKind, Outcome, SmokeReport


def check(outcome: Outcome, kind: FailureKind | None = None) -> CheckResult:
    return CheckResult("g", f"c-{outcome}", "GET", "/", outcome, kind, "why")


def report(*checks: CheckResult) -> SmokeReport:
    return SmokeReport("s", "http://x", "t", 0.1, checks=checks)


def test_passed_needs_no_failure_and_at_least_one_pass() -> None:
    assert report(check(Outcome.passed), check(Outcome.skipped)).passed
    assert not report(check(Outcome.passed), check(Outcome.failed, FailureKind.timeout)).passed
    assert not report(check(Outcome.skipped)).passed  # a suite that checked nothing
    assert not report().passed


def test_failures_carry_check_kind_and_message() -> None:
    r = report(check(Outcome.passed), check(Outcome.failed, FailureKind.dns_failure))
    (failure,) = r.failures
    assert (failure.check, failure.kind, failure.message) == ("g/c-failed", FailureKind.dns_failure, "why")
    assert r.counts == {"total": 2, "passed": 1, "failed": 1, "skipped": 0}
    assert r.to_json()["failures"] == [{"check": "g/c-failed", "kind": "dns_failure", "message": "why"}]
