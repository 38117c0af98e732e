"""Performance and SLOs from the analysis' metric source: keel.yaml's wiring, Prometheus down (an answer that
says so, not an error), and a real Prometheus scraping a real exporter."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from keel.analysis.sources.prometheus import PrometheusSource, PrometheusSpec
from keel.dashboard.api import Dashboard
from keel.dashboard.app import create_app
from keel.dashboard.series import SourceWindows
from keel.dashboard.wiring import dashboard_of
from keel.slo.config import SloSpec
from keel.spec import load_spec
from keel.store import Store
from tests.dashboard.fakes import Named
from tests.keel.analysis.sources.test_prometheus_real import BUCKETS, _wait_for_scrape, prometheus

__all__ = ["prometheus"]  # the fixture, imported for the real-Prometheus test
REVISION = "bayit-00002-abc"


class OneRevision:
    async def revisions(self) -> list[Named]:
        return [Named(REVISION)]


def test_keel_yaml_with_a_prometheus_source(tmp_path: Path) -> None:
    spec_file = tmp_path / "keel.yaml"
    spec_file.write_text(
        "service: svc\nenvironments:\n  prod: {platform: memory}\n"
        "analysis: {source: prometheus, prometheus: {url: 'http://127.0.0.1:9'}}\n"
    )
    board = dashboard_of(load_spec(spec_file), "prod")
    try:
        assert isinstance(board.windows, SourceWindows) and board.source == "prometheus"
        assert board.probe is None  # no service URL from this platform: health says unavailable
    finally:
        board.store.close()
    spec_file.write_text("service: svc\nenvironments:\n  prod: {platform: memory}\n")
    board = dashboard_of(load_spec(spec_file), "prod")
    try:
        assert board.windows is None and "local router" in board.notes[0]
    finally:
        board.store.close()


async def test_prometheus_down_is_said_not_a_500(tmp_path: Path) -> None:
    source = PrometheusSource(PrometheusSpec(url="http://127.0.0.1:9", timeout=2))
    with Store(tmp_path / "keel.db", service="svc") as store:
        board = Dashboard(
            store, "svc", "prod", {}, windows=SourceWindows(OneRevision(), source), source="prometheus"
        )
        transport = httpx.ASGITransport(app=create_app(board))
        async with httpx.AsyncClient(transport=transport, base_url="http://dash") as client:
            response = await client.get("/api/v1/performance")
            assert response.status_code == 200
            assert response.json()["available"] is False
            assert response.json()["reason"].startswith("prometheus unavailable")
            assert (await client.get("/")).status_code == 200


@pytest.mark.slow
async def test_performance_and_slos_from_a_real_prometheus(
    prometheus: tuple[str, CollectorRegistry], tmp_path: Path
) -> None:
    url, registry = prometheus
    requests = Counter("http_requests", "requests", ["revision", "code"], registry=registry)
    latency = Histogram(
        "http_request_duration_seconds", "latency", ["revision"], buckets=BUCKETS, registry=registry
    )
    for code in ("200", "500"):
        requests.labels(REVISION, code).inc(0)
    latency.labels(REVISION)
    _wait_for_scrape(url, f'http_requests_total{{revision="{REVISION}"}}')
    time.sleep(2.5)
    start = time.time()
    for _ in range(5):
        requests.labels(REVISION, "200").inc(98)
        requests.labels(REVISION, "500").inc(2)
        for value, n in ((0.03, 60), (0.08, 39), (2.0, 1)):
            for _ in range(n):
                latency.labels(REVISION).observe(value)
        time.sleep(1.0)
    _wait_for_scrape(url, f'sum(http_requests_total{{revision="{REVISION}"}})', 500.0)
    time.sleep(1.5)
    end = time.time()

    source = PrometheusSource(PrometheusSpec(url=url, selector='job="app"'))
    with Store(tmp_path / "keel.db", service="svc") as store:
        board = Dashboard(
            store, "svc", "prod", {"availability": SloSpec(objective=99.0)},
            windows=SourceWindows(OneRevision(), source), source="prometheus", clock=lambda: end,
        )  # fmt: skip
        minutes = max(1, round((end - start + 60) / 60))
        perf = await board.performance(minutes, 2)
        slos = await board.slos(minutes, 2)
    assert perf["available"] and perf["source"] == "prometheus"
    summary = perf["summary"]
    # increase() extrapolates to the edges of each range: close to, not exactly, the true 500 requests
    assert 400 <= summary["requests"] <= 650, summary
    assert summary["error_rate"] == pytest.approx(0.02, abs=0.006)
    assert summary["p50_ms"] is not None and summary["p50_ms"] <= 50.0
    assert summary["meets"]["error_rate"] is False  # 2 % > the 1 % target
    (slo,) = slos["slos"]
    assert slo["attainment"] == pytest.approx(0.98, abs=0.006) and slo["budget_left"] < 0
