"""The watcher's scrape: a real prometheus_client exporter read over HTTP into one Sample."""

from __future__ import annotations

import socket

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from keel.health.base import CheckResult, Status
from keel.health.metrics import HealthMetrics
from keel.slo.config import Signals
from keel.slo.samples import CheckStreak, HttpTarget

SIGNALS = Signals(selector={"job": "bayit"})


async def test_scrape_sums_the_selected_series_and_reads_health_streaks() -> None:
    registry = CollectorRegistry()
    requests = Counter("http_requests", "r", ["job", "method", "route", "status"], registry=registry)
    latency = Histogram("http_request_duration_seconds", "l", ["job"], buckets=(0.1, 1.0), registry=registry)
    requests.labels("bayit", "GET", "/a", "200").inc(90)
    requests.labels("bayit", "GET", "/a", "503").inc(10)
    requests.labels("other", "GET", "/a", "500").inc(1000)  # another job: not selected
    for value in (0.05, 0.05, 0.5, 2.0):
        latency.labels("bayit").observe(value)
    health = HealthMetrics(registry)
    for _ in range(3):
        health(CheckResult("database", Status.UNHEALTHY, 1.0, "", True, 0.0, "datastore"))
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        target = HttpTarget(f"http://127.0.0.1:{server.server_address[1]}", SIGNALS)
        sample = await target.sample()
        await target.aclose()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert (sample.requests, sample.errors) == (100.0, 10.0)
    assert sample.latency.bounds == (0.1, 1.0, float("inf")) and sample.latency.counts == (2, 1, 1)
    # job is a label Prometheus adds when it scrapes: series without it belong to the scraped target
    assert sample.checks == {"database": CheckStreak(3.0, True, "datastore")}
    assert sample.ready is True


async def test_an_unreachable_target_is_not_ready_and_its_counters_unknown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = HttpTarget(f"http://127.0.0.1:{port}", SIGNALS, timeout=1.0)
    sample = await target.sample()
    await target.aclose()
    assert sample.ready is None and not sample.scraped
