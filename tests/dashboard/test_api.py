"""The dashboard's JSON API and page over releases the engine ran (memory platform, fake clock): every panel,
the figures the page shows equal the API's, and bad input is a 400 naming the parameter (never a 500)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.analysis.base import Outcome
from keel.dashboard.api import Dashboard
from keel.dashboard.app import create_app
from keel.dashboard.dora import Metric, display
from keel.rollout.commit import Commit
from keel.slo.config import SloSpec
from keel.store import AlertRow, RolloutRow
from tests.dashboard.fakes import FixedProbe, FixedWindows
from tests.dashboard.test_history import release
from tests.keel.rollout.fakes import Rig
from tests.keel.rollout.test_release import OLD


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Rig, dict[str, str]]]:
    rig = Rig(tmp_path)
    rig.platform.add_serving(OLD)
    rig.store.record_serving("test", OLD, rig.clock(), None, "served before keel")
    good = await release(rig, tmp_path).deploy(commit=Commit("a" * 40, rig.clock() - 7200, "git"))
    rig.outcome = lambda canary, look: Outcome.FAIL
    bad = await release(rig, tmp_path).deploy(commit=Commit("b" * 40, None, "git"))
    board = Dashboard(
        rig.store, "svc", "test", {"availability": SloSpec(objective=99.9)},
        windows=FixedWindows(middle=rig.clock() - 60), probe=FixedProbe(), clock=rig.clock,
    )  # fmt: skip
    transport = httpx.ASGITransport(app=create_app(board))
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as c:
        yield c, rig, {"good": good.rollout.id, "bad": bad.rollout.id}
    rig.store.close()


async def test_every_panel_answers_with_data(client: tuple[httpx.AsyncClient, Rig, dict[str, str]]) -> None:
    c, rig, ids = client
    index = (await c.get("/api/v1")).json()
    assert index["service"] == "svc" and "/api/v1/dora?days=" in index["endpoints"]
    health = (await c.get("/api/v1/health")).json()
    assert health["readiness"]["ready"] is True and health["dependencies"][1]["status"] == "not configured"
    assert health["alerts"] == []
    rig.store.save_alert(
        AlertRow("burn", "svc", "test", "ErrorBudgetBurn", "page", "firing", fired_at=rig.clock())
    )
    (firing,) = (await c.get("/api/v1/health")).json()["alerts"]
    assert (firing["name"], firing["state"], firing["since"]) == ("ErrorBudgetBurn", "firing", rig.clock())
    assert "ErrorBudgetBurn (page): firing" in (await c.get("/")).text
    perf = (await c.get("/api/v1/performance", params={"minutes": 2, "points": 2})).json()
    assert perf["summary"]["requests"] == 150 and perf["errors"]["rate_5xx"] == 0.002
    slos = (await c.get("/api/v1/slos", params={"minutes": 2, "points": 2})).json()
    assert slos["slos"][0]["burn"][0]["burn_rate"] == pytest.approx(10.0)
    deployments = (await c.get("/api/v1/deployments")).json()
    assert [r["rollout"] for r in deployments["releases"]] == [ids["bad"], ids["good"]]
    assert deployments["releases"][0]["outcome"] == "rolled_back" and deployments["releases"][0]["cause"]
    assert deployments["releases"][0]["deciding_verdict"]["outcome"] == "fail"
    report = (await c.get(f"/api/v1/deployments/{ids['bad']}")).json()
    assert report["schema"] == "keel.rollout/v1" and report["phase"] == "rolled_back"
    traffic = (await c.get("/api/v1/traffic")).json()
    assert traffic["rollout"] == ids["bad"] and [p["weight"] for p in traffic["points"]][:2] == [0, 10]
    good_traffic = (await c.get("/api/v1/traffic", params={"rollout": ids["good"]})).json()
    assert [p["weight"] for p in good_traffic["points"]] == [0, 10, 50, 100]
    dora = (await c.get("/api/v1/dora", params={"days": 7})).json()
    assert dora["metrics"]["deployment_success_rate"]["value"] == 0.5
    assert dora["metrics"]["lead_time"]["known"] == 1 and dora["window"]["days"] == 7


async def test_the_page_shows_the_api_figures(client: tuple[httpx.AsyncClient, Rig, dict[str, str]]) -> None:
    c, _, ids = client
    page = await c.get("/", params={"days": 7, "minutes": 5, "refresh": 5})
    assert page.status_code == 200 and '<meta http-equiv="refresh" content="5">' in page.text
    figures = dict(re.findall(r'data-figure="([^"]+)">([^<]*)<', page.text))
    dora = (await c.get("/api/v1/dora", params={"days": 7})).json()
    for name, m in dora["metrics"].items():
        assert figures[f"dora.{name}"] == display(Metric(name, m["value"])), name
    assert figures[f"release.{ids['bad']}.outcome"] == "rolled_back"
    assert figures["health.dep.sentry.status"] == "not configured"
    assert f'href="/deployments/{ids["bad"]}#verdicts"' in page.text
    for panel in ("health", "performance", "slos", "deployments", "traffic", "dora"):
        assert f'data-panel="{panel}"' in page.text
    detail = await c.get(f"/deployments/{ids['bad']}")
    assert detail.status_code == 200 and 'id="verdicts"' in detail.text
    assert (await c.get("/static/dashboard.css")).headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/v1/dora", {"days": "0"}, "days"),
        ("/api/v1/dora", {"days": "abc"}, "days"),
        ("/api/v1/dora", {"days": "99999"}, "days"),
        ("/api/v1/performance", {"minutes": "61"}, "minutes"),
        ("/api/v1/performance", {"points": "1"}, "points"),
        ("/api/v1/slos", {"points": "100000000000000000000"}, "points"),
        ("/api/v1/deployments", {"limit": "501"}, "limit"),
        ("/api/v1/deployments", {"offset": "-1"}, "offset"),
        ("/api/v1/traffic", {"rollout": "../../etc"}, "rollout id"),
        ("/api/v1/deployments/DROP TABLE", {}, "rollout id"),
        ("/", {"refresh": "-5"}, "refresh"),
    ],
)
async def test_bad_input_is_a_400_naming_it(
    client: tuple[httpx.AsyncClient, Rig, dict[str, str]], path: str, params: dict[str, str], named: str
) -> None:
    c, _, _ = client
    response = await c.get(path, params=params)
    assert response.status_code == 400, response.text
    assert named in response.text


async def test_an_unknown_release_is_a_404(client: tuple[httpx.AsyncClient, Rig, dict[str, str]]) -> None:
    c, _, _ = client
    assert (await c.get("/api/v1/deployments/r-nosuch")).status_code == 404
    assert (await c.get("/deployments/r-nosuch")).status_code == 404


ENDPOINTS = (
    "/", "/api/v1/health", "/api/v1/performance", "/api/v1/slos", "/api/v1/deployments", "/api/v1/traffic",
    "/api/v1/dora",
)  # fmt: skip


async def test_no_query_string_makes_a_500(client: tuple[httpx.AsyncClient, Rig, dict[str, str]]) -> None:
    """Any value of any parameter, on every endpoint: an answer or a 400, never a server error. (Hypothesis
    drives a thread; the requests run on this test's event loop, where the client lives.)"""
    c, _, _ = client
    loop = asyncio.get_running_loop()
    names = st.sampled_from(["days", "minutes", "points", "limit", "offset", "refresh", "rollout", "other"])
    values = st.one_of(st.integers(-(10**20), 10**20).map(str), st.text(max_size=30))
    seen: list[int] = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(ENDPOINTS), st.dictionaries(names, values, max_size=3))
    def check(path: str, params: dict[str, str]) -> None:
        response = asyncio.run_coroutine_threadsafe(c.get(path, params=params), loop).result(timeout=60)
        seen.append(response.status_code)
        assert response.status_code in (200, 400, 404), (path, params, response.text[:300])

    failures: list[BaseException] = []

    def run() -> None:
        try:
            check()
        except BaseException as exc:  # handed to the test below
            failures.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive():
        await asyncio.sleep(0.01)
    worker.join()
    if failures:
        raise failures[0]
    assert 400 in seen and 200 in seen


async def test_a_release_this_keel_cannot_read_is_named(
    client: tuple[httpx.AsyncClient, Rig, dict[str, str]],
) -> None:
    c, rig, _ = client
    rig.store.insert_rollout(RolloutRow("r-damaged", "test", "svc", "deploy", "svc-9", None, "promoted", False,
                                        {"kind": "deploy"}, rig.clock(), rig.clock()))  # fmt: skip
    response = await c.get("/api/v1/deployments/r-damaged")
    assert (
        response.status_code == 500 and "release r-damaged: its stored record cannot be read" in response.text
    )
    assert (await c.get("/api/v1/deployments")).status_code == 200  # the timeline still reads it
