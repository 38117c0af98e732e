"""End to end with the real servers: Bayit+ under steady load, Prometheus scraping it and evaluating the
generated rules, Alertmanager (generated config) routing pages to a PagerDuty Events v2 receiver and warnings
to a Slack incoming-webhook receiver. Faults are injected with BAYIT_FAULT_*; each alert must fire, reach
its receiver once, and resolve. Test-scale windows (seconds), same rules and routes as production."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keel.slo.status import from_alertmanager
from tests.keel.notify.server import Recorder
from tests.keel.slo.realstack import PD_KEY, Bayit, Load, Missing, pd_events, real_stack, slack_titles, until

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    try:
        with real_stack(tmp_path) as parts:
            yield parts
    except Missing as exc:
        if os.environ.get("KEEL_REQUIRE_ALERTMANAGER") == "1":
            pytest.fail(f"{exc} but KEEL_REQUIRE_ALERTMANAGER=1 (CI installs it)")
        pytest.skip(str(exc))


def test_faults_page_once_route_by_severity_and_resolve(stack: dict[str, Any]) -> None:
    bayit: Bayit = stack["bayit"]
    pd: Recorder = stack["pd"]
    slack: Recorder = stack["slack"]
    timings: dict[str, float] = {}

    def triggered(name: str) -> bool:
        return any(a == name and e == "trigger" for _, a, e in pd_events(pd))

    def resolved(name: str) -> bool:
        return any(a == name and e == "resolve" for _, a, e in pd_events(pd))

    bayit.start(BAYIT_FAULT_ERROR_RATE="0.5")
    with Load(f"http://127.0.0.1:{bayit.port}/api/v1/content"):
        # 1. half the requests fail: HighErrorRate and the SLO's fast burn page (PagerDuty), nothing twice
        timings["HighErrorRate"] = until(lambda: triggered("HighErrorRate"), "HighErrorRate page")
        until(lambda: triggered("SLOErrorBudgetBurn"), "SLO burn page")
        # keel alerts status --alertmanager reads the same alerts back from Alertmanager's API
        firing = asyncio.run(from_alertmanager(stack["am"], "bayit"))
        assert {"HighErrorRate", "SLOErrorBudgetBurn"} <= {a.name for a in firing if a.state == "firing"}
        assert all(a.labels["environment"] == "e2e" for a in firing)
        # 2. the process goes away: ReadinessFailing (up == 0) pages
        down = time.monotonic()
        bayit.stop()
        until(lambda: triggered("ReadinessFailing"), "ReadinessFailing page")
        timings["ReadinessFailing"] = time.monotonic() - down
        # 3. a slow but correct revision: errors and readiness resolve, HighLatencyP95 warns on Slack
        bayit.start(BAYIT_FAULT_LATENCY_MS="400")
        for name in ("HighErrorRate", "ReadinessFailing", "SLOErrorBudgetBurn"):
            until(lambda name=name: resolved(name), f"{name} resolve")  # type: ignore[misc]
        until(lambda: any("FIRING" in t and "HighLatencyP95" in t for _, t in slack_titles(slack)),
               "HighLatencyP95 on Slack")  # fmt: skip
        # 4. healthy again: the warning resolves
        bayit.stop()
        bayit.start()
        until(lambda: any("RESOLVED" in t and "HighLatencyP95" in t for _, t in slack_titles(slack)),
               "HighLatencyP95 resolved on Slack")  # fmt: skip

    events = pd_events(pd)
    # Pages went to PagerDuty only, warnings to Slack only (routing by severity)
    assert {a for _, a, _ in events} <= {"HighErrorRate", "ReadinessFailing", "SLOErrorBudgetBurn"}
    assert not any("HighLatencyP95" in str(body) for _, _, body in pd.posts)
    # No duplicate pages: per alert, triggers and resolves alternate (one trigger per incident)
    for name in ("HighErrorRate", "SLOErrorBudgetBurn"):
        actions = [e for _, a, e in events if a == name]
        assert actions == ["trigger", "resolve"], (name, actions)
    ready = [e for _, a, e in events if a == "ReadinessFailing"]
    assert all(x != y for x, y in itertools.pairwise(ready)) and ready[0] == "trigger", ready
    # every PagerDuty event carries the routing key, the service and a runbook; no secret leaks elsewhere
    for _, _, body in pd.posts:
        assert body["routing_key"] == PD_KEY
    first = pd.posts[0][2]["payload"]["custom_details"]
    assert first["service"] == "bayit" and first["environment"] == "e2e" and "#" in first["runbook"]
    assert all(PD_KEY not in str(body) for _, _, body in slack.posts)
    print("detection seconds (fault start -> receiver):", {k: round(v, 1) for k, v in timings.items()})


def test_database_stopped_pages_once_and_resolves_when_it_is_back(tmp_path: Path) -> None:
    """PostgreSQL stopped under the served app: the critical database check fails on every readiness probe,
    DatabaseConnectionFailures (and ReadinessFailing) page once each and resolve once it is back."""
    from tests.support.postgres import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("KEEL_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries not found but CI requires them")
        pytest.skip("PostgreSQL is not installed")
    postgres = PostgresServer(bindir)
    postgres.init()
    postgres.start()
    try:
        url = postgres.create_database("bayit_alerts")
        try:
            with real_stack(tmp_path, database_url=url) as parts:
                _database_outage(parts, postgres)
        except Missing as exc:
            if os.environ.get("KEEL_REQUIRE_ALERTMANAGER") == "1":
                pytest.fail(f"{exc} but KEEL_REQUIRE_ALERTMANAGER=1 (CI installs it)")
            pytest.skip(str(exc))
    finally:
        postgres.destroy()


def _database_outage(parts: dict[str, Any], postgres: Any) -> None:
    bayit: Bayit = parts["bayit"]
    pd: Recorder = parts["pd"]
    bayit.start()
    with Load(f"http://127.0.0.1:{bayit.port}/api/v1/content") as load:
        load.probe(f"http://127.0.0.1:{bayit.port}/health/ready")
        time.sleep(3)
        postgres.stop()
        until(lambda: any(a == "DatabaseConnectionFailures" and e == "trigger" for _, a, e in pd_events(pd)),
              "DatabaseConnectionFailures page")  # fmt: skip
        postgres.start()
        postgres.wait_ready()
        until(lambda: any(a == "DatabaseConnectionFailures" and e == "resolve" for _, a, e in pd_events(pd)),
              "DatabaseConnectionFailures resolve")  # fmt: skip
    actions = [e for _, a, e in pd_events(pd) if a == "DatabaseConnectionFailures"]
    assert actions == ["trigger", "resolve"], actions
    trigger = next(
        b for _, _, b in pd.posts if b["payload"]["custom_details"]["alert"] == "DatabaseConnectionFailures"
    )
    assert trigger["payload"]["severity"] == "critical"
