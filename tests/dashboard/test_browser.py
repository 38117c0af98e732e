"""The dashboard in a real browser (Playwright driving Debian's Chromium) over a real history: Bayit+ on the
local platform under steady load, released by keel's engine: a first deploy, a good release promoted through
the canary, a faulty one rolled back by analysis, then a manual rollback. Every panel renders with data, the
figures shown are the JSON API's, no console errors, the controls are reachable from the keyboard;
screenshots are kept (the directory is printed; $KEEL_ARTIFACTS chooses it). Skipped without Chromium or
playwright, unless KEEL_REQUIRE_CHROMIUM=1 (CI), which makes that a failure."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from keel.dashboard.dora import Metric, display
from tests.e2e.support import ENV, Load, deploy, write_project
from tests.keel.cli.releases import KEEL, free_port, keel

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("KEEL_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Served:
    url: str
    directory: Path
    artifacts: Path
    releases: dict[str, str]


def _start_dashboard(directory: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KEEL_STATE_DIR", None)
    proc = subprocess.Popen(
        [KEEL, "dashboard", "--env", ENV, "--port", "0"], cwd=directory, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if match is None:
        proc.kill()
        raise AssertionError(
            f"no URL from keel dashboard: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    return proc, match.group(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    missing = (
        None
        if Path(CHROMIUM).exists()
        else f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed (the dev extra has it)"
    if missing is not None:
        if os.environ.get("KEEL_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{missing} but KEEL_REQUIRE_CHROMIUM=1 (CI installs it)")
        pytest.skip(missing)
    artifacts = Path(os.environ.get("KEEL_ARTIFACTS") or tmp_path_factory.mktemp("artifacts")) / "dashboard"
    artifacts.mkdir(parents=True, exist_ok=True)
    print(f"\ndashboard screenshots: {artifacts}")
    directory = tmp_path_factory.mktemp("dashboard-history")
    port = free_port()
    write_project(directory, port, hold=6.0)
    load: Load | None = None
    dashboard: subprocess.Popen[str] | None = None
    commit = pytest.MonkeyPatch()  # what a CI job sets: the commit each deploy ships, an hour old
    commit.setenv("KEEL_COMMIT_SHA", "c0ffee" * 6 + "abcd")
    commit.setenv("KEEL_COMMIT_TIME", str(round(time.time() - 3600)))
    try:
        releases: dict[str, str] = {}
        code, first, stderr = deploy(directory, "RELEASE=1")
        assert code == 0, stderr
        releases["first"] = first["rollout"]
        load = Load(f"http://127.0.0.1:{port}").start()
        code, good, stderr = deploy(directory, "RELEASE=2")
        assert code == 0 and good["phase"] == "promoted", stderr
        releases["good"] = good["rollout"]
        code, bad, stderr = deploy(directory, "BAYIT_FAULT_ERROR_RATE=0.05")
        assert code == 1 and bad["phase"] == "rolled_back", stderr
        releases["bad"] = bad["rollout"]
        back = keel("rollback", "--env", ENV, "--yes", "--format", "json", cwd=directory)
        assert back.returncode == 0, back.stderr
        dashboard, url = _start_dashboard(directory)
        yield Served(url, directory, artifacts, releases)
    finally:
        commit.undo()
        if dashboard is not None:
            dashboard.terminate()
            dashboard.wait(timeout=20)
        if load is not None:
            load.stop()
        keel("down", "--env", ENV, cwd=directory)


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.console_errors = errors
        yield tab
        browser.close()


def figures(tab: Any) -> dict[str, str]:
    found: dict[str, str] = tab.eval_on_selector_all(
        "[data-figure]", "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.textContent]))"
    )
    return found


def api(served: Served, path: str, **params: Any) -> Any:
    return httpx.get(served.url + path, params=params, timeout=30).json()


def test_every_panel_renders_with_data(served: Served, page: Any) -> None:
    response = page.goto(served.url + "/?refresh=0&days=1&minutes=5")
    assert response.status == 200
    shown = figures(page)
    assert shown["health.readiness"] == "ready"
    assert page.locator("#health tbody tr").count() >= 1 and "health.dep." in " ".join(shown)
    assert page.locator("#performance svg polyline").count() >= 3  # request rate, latency, error rate
    assert float(shown["perf.rps"].removesuffix("/s")) > 0
    assert shown["slo.availability.attainment"] != "no data"
    assert page.locator("#slos svg").count() >= 1
    assert page.locator("#deployments tbody tr").count() == 4
    assert shown["traffic.weights"]
    assert page.locator("#traffic svg polyline").count() == 1
    assert re.fullmatch(r"1h 0\dm", shown["dora.lead_time"]), shown["dora.lead_time"]  # commit an hour before
    for name in ("deployment_frequency", "change_failure_rate", "deployment_success_rate", "time_to_restore"):
        assert shown[f"dora.{name}"] not in ("no data", ""), name
    hover = page.get_attribute('[data-figure="dora.lead_time"] >> xpath=..', "title")
    assert hover is not None and hover.startswith("Median time from the commit")
    page.screenshot(path=str(served.artifacts / "dashboard.png"), full_page=True)
    assert page.console_errors == []


def test_figures_shown_are_the_apis(served: Served, page: Any) -> None:
    page.goto(served.url + "/?refresh=0&days=1")
    shown = figures(page)
    dora = api(served, "/api/v1/dora", days=1)
    for name, m in dora["metrics"].items():
        assert shown[f"dora.{name}"] == display(Metric(name, m["value"])), name
    assert dora["counts"]["promoted"] == 2 and dora["counts"]["rolled_back"] == 1
    assert dora["counts"]["manual_rollbacks"] == 1
    deployments = api(served, "/api/v1/deployments", days=1)
    assert shown["deploy.total"] == str(deployments["total"]) == "4"
    for release in deployments["releases"]:
        assert shown[f"release.{release['rollout']}.outcome"] == release["outcome"]
    outcomes = {r["rollout"]: r["outcome"] for r in deployments["releases"]}
    assert (
        outcomes[served.releases["bad"]] == "rolled_back" and outcomes[served.releases["good"]] == "promoted"
    )
    traffic = api(served, "/api/v1/traffic")
    assert traffic["rollout"] == served.releases["bad"]
    assert shown["traffic.weights"] == " → ".join(str(p["weight"]) for p in traffic["points"])
    health = api(served, "/api/v1/health")
    for dep in health["dependencies"]:
        assert shown[f"health.dep.{dep['name']}.status"] == dep["status"]
    assert page.console_errors == []


def test_controls_are_keyboard_reachable_and_the_verdict_is_linked(served: Served, page: Any) -> None:
    page.goto(served.url + "/?refresh=0")
    reached: list[str] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert {"ctl-days", "ctl-minutes", "ctl-refresh"} <= set(reached), reached
    page.focus("#ctl-days")
    page.keyboard.press("ArrowDown")  # 30 -> 90 days
    while page.evaluate("document.activeElement.tagName") != "BUTTON":
        page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "days=90" in page.url
    link = page.locator(f'tr[data-rollout="{served.releases["bad"]}"] a[href$="#verdicts"]')
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/deployments/{served.releases['bad']}#verdicts")
    assert figures(page)["detail.phase"] == "rolled_back"
    assert figures(page)["detail.cause"].startswith("analysis failed at 10%")
    assert page.locator("#verdicts tbody tr").count() >= 1
    page.screenshot(path=str(served.artifacts / "deployment.png"), full_page=True)
    assert page.console_errors == []


def test_the_page_refreshes_itself(served: Served, page: Any) -> None:
    page.goto(served.url + "/?refresh=5")
    first = page.text_content("header p")
    # "Updated ..." moves on only when the page reloads itself (generous limit: the machine is loaded)
    page.wait_for_function("first => document.querySelector('header p').textContent !== first", arg=first,
                           timeout=60_000)  # fmt: skip
