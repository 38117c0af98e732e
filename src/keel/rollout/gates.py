"""Gates a revision passes before user traffic: readiness probes and smoke checks against its own URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from keel.probing import join_url
from keel.spec import Expectation
from keel.tls import tls_context


@dataclass(frozen=True)
class GateResult:
    passed: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


class SmokeGate(Protocol):
    """Checks a revision through its own URL before any user traffic reaches it."""

    async def run(self, base_url: str) -> GateResult: ...


class NoSmokeGate:
    """No smoke gate configured: passes, and says so in the record."""

    async def run(self, base_url: str) -> GateResult:
        return GateResult(True, "no smoke gate configured", {"checks": 0})


class ExpectationsGate:
    """The built-in smoke gate: a list of HTTP expectations (method, path -> status, optional body text)."""

    def __init__(self, checks: Sequence[Expectation], timeout: float = 10.0) -> None:
        self._checks = tuple(checks)
        self._timeout = timeout

    async def run(self, base_url: str) -> GateResult:
        failures: list[dict[str, str]] = []
        async with httpx.AsyncClient(timeout=self._timeout, verify=tls_context()) as client:
            for check in self._checks:
                name = f"{check.method} {check.path}"
                try:
                    response = await client.request(
                        check.method, join_url(base_url, check.path), headers=check.headers
                    )
                except httpx.HTTPError as exc:
                    failures.append({"check": name, "message": f"request failed: {type(exc).__name__}"})
                    continue
                if response.status_code != check.status:
                    failures.append(
                        {
                            "check": name,
                            "message": f"expected HTTP {check.status}, got {response.status_code}",
                        }
                    )
                elif check.contains is not None and check.contains not in response.text:
                    failures.append({"check": name, "message": f"body does not contain {check.contains!r}"})
        total = len(self._checks)
        passed = total - len(failures)
        summary = f"{passed}/{total} checks passed"
        if failures:
            summary += ": " + "; ".join(f"{f['check']}: {f['message']}" for f in failures[:3])
        return GateResult(not failures, summary, {"checks": total, "failures": failures})


class SuiteGate:
    """A keel.smoke suite (checks, auth flows, latency budgets), loaded and validated before the release
    starts, run by keel.smoke's runner against the revision's own URL."""

    def __init__(self, path: Path, deadline: float | None = None) -> None:
        from keel.smoke import load_suite

        self._path = path
        self._suite = load_suite(path)
        self._deadline = deadline

    async def run(self, base_url: str) -> GateResult:
        from keel.smoke import run_suite

        report = await run_suite(self._suite, base_url, deadline_s=self._deadline, include_latency=True)
        failures = [{"check": f.check, "kind": str(f.kind), "message": f.message} for f in report.failures]
        if report.passed:
            summary = f"smoke suite {self._path.name} passed"
        else:
            summary = f"smoke suite {self._path.name} failed: " + "; ".join(
                f"{f['check']}: {f['message']}" for f in failures[:3]
            )
        return GateResult(bool(report.passed), summary, {"failures": failures})
