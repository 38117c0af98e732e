"""Gates over real HTTP: the readiness prober, inline expectations and a keel.smoke suite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keel.probing import HttpProber, join_url
from keel.rollout.gates import ExpectationsGate, NoSmokeGate, SuiteGate
from keel.spec import Expectation
from tests.keel.platforms.local.conftest import InProcessRevision, free_port


@pytest.fixture
async def revision() -> AsyncIterator[str]:
    rev = InProcessRevision("gate-test", free_port())
    await rev.start()
    try:
        yield f"http://127.0.0.1:{rev.port}"
    finally:
        await rev.stop()


async def test_prober(revision: str) -> None:
    prober = HttpProber()
    assert (await prober.probe(join_url(revision, "/health/ready"), 2)).ok
    failed = await prober.probe(join_url(revision, "fail"), 2)
    assert not failed.ok and failed.detail == "HTTP 503"
    closed = await prober.probe(f"http://127.0.0.1:{free_port()}/health/ready", 2)
    assert not closed.ok and closed.detail.startswith("cannot connect")


async def test_expectations(revision: str) -> None:
    good = ExpectationsGate(
        [Expectation(path="/", status=200, contains="gate-test"), Expectation(path="/fail", status=503)]
    )
    result = await good.run(revision)
    assert result.passed and result.summary == "2/2 checks passed"
    bad = ExpectationsGate([Expectation(path="/fail", status=200), Expectation(path="/", contains="other")])
    result = await bad.run(revision)
    assert not result.passed
    assert "GET /fail: expected HTTP 200, got 503" in result.summary
    assert "GET /: body does not contain 'other'" in result.summary


async def test_suite_file(revision: str, tmp_path: Path) -> None:
    suite = tmp_path / "smoke.yaml"
    suite.write_text(
        "name: t\ngroups:\n  g:\n    checks:\n      - {name: root, path: /}\n      - {name: ready, path: /health/ready}\n"
    )
    assert (await SuiteGate(suite).run(revision)).passed
    suite.write_text("name: t\ngroups:\n  g:\n    checks:\n      - {name: broken, path: /fail}\n")
    result = await SuiteGate(suite).run(revision)
    assert not result.passed and "broken" in result.summary


async def test_no_smoke_gate_passes_and_says_so() -> None:
    result = await NoSmokeGate().run("http://unused")
    assert result.passed and result.summary == "no smoke gate configured"
