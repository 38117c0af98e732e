"""The shipped Bayit+ suite (smoke.yaml at the repository root) against a real ``bayit serve`` process."""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keel.smoke import Outcome, Suite, load_suite, run_suite
from tests.support.postgres import free_port
from tests.support.processes import start_bayit, wait_http

pytestmark = pytest.mark.slow

SUITE_FILE = Path(__file__).resolve().parents[3] / "smoke.yaml"


def serve(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    process = start_bayit(
        port, {"ENVIRONMENT": "development", **env}, "--seed", "--host", "127.0.0.1", log=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health/ready", timeout=90)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def bayit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("bayit-smoke")
    yield from serve({"DATABASE_URL": f"sqlite+aiosqlite:///{root / 'bayit.db'}"}, root / "bayit.log")


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite(SUITE_FILE)


@pytest.fixture(scope="module")
def untimed(suite: Suite) -> Suite:
    """The shipped suite with its latency limits lifted to a minute. On a loaded test machine (three pytest
    workers on two cores) /health can miss its 100 ms p95 (it did once in CI), and these tests are about what
    the suite does, not how fast this machine is: the limits themselves are pinned in the first test, and
    timing belongs to benchmarks/smoke. The latency checks still run and sample."""
    assert suite.latency is not None
    checks = type(suite.latency.checks)(c.model_copy(update={"max": 60.0}) for c in suite.latency.checks)
    return suite.model_copy(update={"latency": suite.latency.model_copy(update={"checks": checks})})


def test_the_suite_covers_what_the_issue_asks(suite: Suite) -> None:
    paths = {c.path for g in suite.groups.values() for c in g.checks}
    for path in (
        "/health",
        "/health/live",
        "/health/ready",
        "/health/deep",
        "/api/v1/",
        "/openapi.json",
        "/docs",
    ):
        assert path in paths
    barrier = {
        c.path: c.expect.status
        for c in suite.groups["auth-barrier"].checks
        if "Authorization" not in c.headers
    }
    assert barrier == {"/api/v1/users/me": (401,), "/api/v1/watchlist": (401,)}
    assert suite.latency is not None
    limits = {c.path: (c.percentile, c.max) for c in suite.latency.checks}
    assert limits == {"/health": (95, 0.1), "/api/v1/content?limit=5": (95, 0.5)}
    assert suite.latency.samples >= 20 and suite.latency.warmup >= 1


async def test_the_suite_passes_against_bayit_and_cleans_up(bayit: str, untimed: Suite) -> None:
    suite = untimed
    rng = random.Random(20261128)
    report = await run_suite(suite, bayit, rng=rng)
    assert report.passed, [f"{f.check}: {f.kind}: {f.message}" for f in report.failures]
    assert all(c.outcome is Outcome.passed for c in report.checks)
    assert {c.group for c in report.checks} >= {"auth", "health", "api", "auth-barrier", "public-content"}
    assert [c.name for c in report.checks if c.group == "cleanup"] == ["delete-user", "user-is-gone"]
    assert len(report.latency) == 2 and all(len(r.samples) == suite.latency.samples for r in report.latency)  # type: ignore[union-attr]

    # The throw-away user is really gone: logging in with the run's credentials fails.
    run_id = f"{random.Random(20261128).getrandbits(48):012x}"
    async with httpx.AsyncClient(base_url=bayit) as client:
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": f"keel-smoke-{run_id}@example.com", "password": f"Smoke-{run_id}-pass"},
        )
    assert login.status_code == 401
    # The password and the token never reach the report.
    text = str(report.to_json())
    assert f"Smoke-{run_id}-pass" not in text and "Bearer" not in text


async def test_the_suite_runs_again_and_reports_its_duration(bayit: str, untimed: Suite) -> None:
    """Back-to-back runs against the same instance both pass (clean-up leaves nothing behind that the next run
    trips over) and each reports how long it took. The 2-second bound is a benchmark, not a timed test
    (benchmarks/smoke, figures in docs/benchmarks.md)."""
    for _ in range(2):
        started = time.perf_counter()
        report = await run_suite(untimed, bayit)
        wall = time.perf_counter() - started
        assert report.passed, report.failures
        assert 0.0 < report.duration_s <= wall + 0.05


@pytest.mark.postgres
async def test_the_suite_passes_against_bayit_on_postgresql(
    postgres_url: str, untimed: Suite, tmp_path: Path
) -> None:
    for url in serve({"DATABASE_URL": postgres_url}, tmp_path / "bayit.log"):
        report = await run_suite(untimed, url)
        assert report.passed, [f"{f.check}: {f.kind}: {f.message}" for f in report.failures]
