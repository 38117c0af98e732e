"""The Prometheus source against a real Prometheus server scraping a real exporter (skipped when the
``prometheus`` binary is not installed): proves the PromQL is valid and the numbers come back right."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from keel.analysis.sources.prometheus import PrometheusSource, PrometheusSpec

pytestmark = pytest.mark.slow
BINARY = shutil.which("prometheus")
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, CollectorRegistry]]:
    if BINARY is None:
        if os.environ.get("KEEL_REQUIRE_PROMETHEUS") == "1":
            pytest.fail("prometheus is not installed but KEEL_REQUIRE_PROMETHEUS=1 (CI installs it)")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    registry = CollectorRegistry()
    exporter_port = _free_port()
    server, thread = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: app, static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]}}]\n"
    )
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("prometheus did not become ready in 60 s")
            time.sleep(0.2)
        yield url, registry
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        thread.join(timeout=5)


def _wait_for_scrape(url: str, query: str, value: float | None = None, timeout: float = 60.0) -> None:
    """Until Prometheus has a sample for ``query`` (equal to ``value`` when given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()
        result = body["data"]["result"]
        if result and (value is None or float(result[0]["value"][1]) == value):
            return
        time.sleep(0.5)
    pytest.fail(f"no sample (= {value}) for {query} after {timeout} s")


async def test_windows_from_a_real_prometheus(prometheus: tuple[str, CollectorRegistry]) -> None:
    url, registry = prometheus
    requests = Counter("http_requests", "requests", ["revision", "code"], registry=registry)
    latency = Histogram(
        "http_request_duration_seconds", "latency", ["revision"], buckets=BUCKETS, registry=registry
    )
    for code in ("200", "500"):
        requests.labels("bayit-00002-abc", code).inc(0)
    latency.labels("bayit-00002-abc")
    _wait_for_scrape(url, 'http_requests_total{revision="bayit-00002-abc"}')
    time.sleep(2.5)  # a couple of scrapes of the zero counters, so increase() sees the whole traffic
    start = time.time()
    for _ in range(5):
        requests.labels("bayit-00002-abc", "200").inc(57)
        requests.labels("bayit-00002-abc", "500").inc(3)
        for value, n in ((0.03, 30), (0.08, 20), (0.3, 9), (2.0, 1)):
            for _ in range(n):
                latency.labels("bayit-00002-abc").observe(value)
        time.sleep(1.0)
    _wait_for_scrape(url, 'sum(http_requests_total{revision="bayit-00002-abc"})', 300.0)
    time.sleep(1.5)  # one more scrape of the final values
    end = time.time()

    source = PrometheusSource(PrometheusSpec(url=url, selector='job="app"'))
    window = await source.window("bayit-00002-abc", start - 1.0, end)
    # increase() extrapolates to the edges of the range: close to, not exactly, the true counts
    assert 270 <= window.requests <= 360, window
    assert 12 <= window.errors <= 20, window
    assert window.latency.bounds == (*BUCKETS, float("inf"))
    total = window.latency.total
    assert 270 <= total <= 360
    share = [c / total for c in window.latency.counts]
    assert share[0] == pytest.approx(0.5, abs=0.03)  # 0.03 s
    assert share[1] == pytest.approx(1 / 3, abs=0.03)  # 0.08 s
    assert share[3] == pytest.approx(0.15, abs=0.03)  # 0.3 s
    assert share[-1] == pytest.approx(1 / 60, abs=0.01)  # 2 s lands in +Inf

    nobody = await source.window("bayit-00001-old", start - 1.0, end)
    assert (nobody.requests, nobody.errors, nobody.latency.total) == (0, 0, 0)
