"""Every panel's queries, both targets', asked of a real Prometheus that scrapes the service's metrics (the
names Bayit+ and keel.health export) and evaluates keel's own recording rules: each answers, and with the
figures the traffic implies (skipped when the ``prometheus`` binary is missing; KEEL_REQUIRE_PROMETHEUS=1
fails instead)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from keel.dashboard.panels import RATE_INTERVAL, Kind, Unit, dashboard_for
from keel.health.base import CheckResult, Status
from keel.health.metrics import HealthMetrics
from keel.slo.render import render
from keel.spec import load_spec

pytestmark = pytest.mark.slow

SPEC = """\
service: bayit
environments:
  local: {platform: local, run: [bayit, serve], port: 8080}
slos:
  availability: {objective: 99}
  fast-answers: {objective: 90, sli: latency, latency: 500ms}
alerts:
  interval: 1s
  signals: {selector: {job: app}}
  SLOErrorBudgetBurn:
    windows:
      - {severity: page, long: 2m, short: 30s, factor: 14.4}
"""
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)  # Bayit+'s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, CollectorRegistry, Path]]:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("KEEL_REQUIRE_PROMETHEUS") == "1":
            pytest.fail("prometheus is not installed but KEEL_REQUIRE_PROMETHEUS=1 (CI installs it)")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    (tmp_path / "keel.yaml").write_text(SPEC)
    spec = load_spec(tmp_path / "keel.yaml")
    rules = render("prometheus", spec.alerts, spec.slos, spec.notify.channels, spec.service, "local")
    (tmp_path / "rules.yaml").write_text(rules)
    registry = CollectorRegistry()
    exporter_port = _free_port()
    server, thread = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    port = _free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{tmp_path / 'rules.yaml'}]\n"
        f"scrape_configs: [{{job_name: app, static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]}}]\n"
    )
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("prometheus did not become ready in 90 s")
            time.sleep(0.2)
        yield url, registry, tmp_path / "keel.yaml"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        thread.join(timeout=5)


def _query(url: str, expr: str, at: float) -> list[dict[str, Any]]:
    body = httpx.get(f"{url}/api/v1/query", params={"query": expr, "time": at}, timeout=10).json()
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _until(url: str, expr: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not _query(url, expr, time.time()):
        if time.monotonic() > deadline:
            pytest.fail(f"no result for {expr} after {timeout} s")
        time.sleep(0.5)


def test_every_panel_answers_with_the_figures_of_the_traffic(
    prometheus: tuple[str, CollectorRegistry, Path],
) -> None:
    url, registry, spec_file = prometheus
    requests = Counter("http_requests", "requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("http_request_duration_seconds", "latency", ["method", "route", "status"],
                        buckets=BUCKETS, registry=registry)  # fmt: skip
    health = HealthMetrics(registry)
    now = time.time()
    health(CheckResult("database", Status.HEALTHY, 3.0, "ok", True, now, "datastore"))
    health(CheckResult("openai", Status.DISABLED, 0.0, "not configured", False, now))
    health(CheckResult("redis", Status.DEGRADED, 40.0, "slow", False, now, "datastore"))
    traffic = {("/a", "200"): 90, ("/a", "404"): 5, ("/a", "500"): 5, ("/b", "200"): 100}
    for route, status in traffic:
        requests.labels("GET", route, status).inc(0)
        latency.labels("GET", route, status)
    _until(url, 'http_requests_total{route="/b"}')
    time.sleep(3)  # scrapes of the zero counters, so rate() and increase() see every request
    for (route, status), n in traffic.items():
        requests.labels("GET", route, status).inc(n)
    for value, n in ((0.03, 101), (0.3, 79), (3.0, 20)):  # p50 under 50 ms; p95 and p99 over 2.5 s
        for _ in range(n):
            latency.labels("GET", "/b", "200").observe(value)
    _until(url, 'sum(http_requests_total{job="app"}) == 200')
    time.sleep(4)  # more scrapes, and the recording rules evaluated over them
    at = time.time()

    board = dashboard_for(load_spec(spec_file), "local")
    answers: dict[str, list[list[dict[str, Any]]]] = {}
    for panel in board.panels:
        if panel.kind is Kind.events:
            continue
        grafana = [_query(url, q.promql.replace(RATE_INTERVAL, "1m"), at) for q in panel.queries]
        cloud = [_query(url, q.prometheus, at) for q in panel.cloud_queries]
        assert all(grafana) and all(cloud), panel.id  # every query answers
        answers[panel.id] = grafana
        if panel.unit is Unit.requests_per_second:
            continue  # a rate over 1m and one over 5m: only shares and quantiles must agree
        for ours, theirs in zip(grafana, cloud, strict=True):  # both targets agree
            for a, b in zip(ours, theirs, strict=True):
                assert float(a["value"][1]) == pytest.approx(float(b["value"][1]), rel=0.05), panel.id

    def value(pid: str, i: int = 0) -> float:
        return float(answers[pid][i][0]["value"][1])

    assert value("readiness") == 1
    assert {r["metric"]["check"]: float(r["value"][1]) for r in answers["dependencies"][0]} == {
        "database": 1, "openai": -1, "redis": 0.5,
    }  # fmt: skip
    assert value("error-rate") == pytest.approx(10 / 200, rel=0.02)
    assert value("server-error-rate") == pytest.approx(5 / 200, rel=0.02)
    assert value("latency", 0) < 0.05 and value("latency", 1) > 2.5 and value("latency", 2) > 2.5
    by_route = {r["metric"]["route"]: float(r["value"][1]) for r in answers["errors-by-route"][0]}
    assert set(by_route) == {"/a"}
    by_status = {r["metric"]["status"]: float(r["value"][1]) for r in answers["errors-by-status"][0]}
    assert set(by_status) == {"404", "500"} and by_status["404"] == pytest.approx(by_status["500"])
    assert value("slo-availability-attainment") == pytest.approx(1 - 5 / 200, abs=0.003)
    assert value("slo-availability-budget") == pytest.approx(1 - (5 / 200) / 0.01, abs=0.3)
    assert value("slo-availability-burn-rate") == pytest.approx((5 / 200) / 0.01, rel=0.1)  # recording rule
    assert value("slo-fast-answers-attainment") == pytest.approx(1 - 20 / 200, abs=0.01)  # 10 % above 500 ms
    assert value("slo-fast-answers-burn-rate") == pytest.approx((20 / 200) / 0.1, rel=0.1)
