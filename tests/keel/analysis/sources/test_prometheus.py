import math
import socket

import pytest

from keel.analysis.config import AnalysisSpec
from keel.analysis.errors import AnalysisConfigError, AnalysisError
from keel.analysis.sources.prometheus import PrometheusSource, PrometheusSpec, promql_string
from keel.analysis.sources.registry import create_source
from tests.keel.analysis.sources.fake_prometheus import FakePrometheus, Series, serve

BUCKETS = {"0.05": 400.2, "0.1": 700.0, "0.25": 980.4, "0.5": 995.0, "1": 999.0, "+Inf": 1000.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_window_from_the_http_api() -> None:
    fake = FakePrometheus({"bayit-00002-abc": Series(1000.4, 12.0, BUCKETS)})
    with serve(fake):
        source = PrometheusSource(PrometheusSpec(url=fake.url, selector='job="bayit"'))
        window = await source.window("bayit-00002-abc", 1000.0, 1600.0)
    assert (window.requests, window.errors) == (1000, 12)
    assert window.latency.bounds == (0.05, 0.1, 0.25, 0.5, 1.0, math.inf)
    assert window.latency.counts == (400, 300, 280, 15, 4, 1)
    assert window.latency.total == 1000
    assert len(fake.queries) == 3
    for query in fake.queries:
        assert query["time"] == "1600.000"
        assert "[600s]" in query["query"]
        assert 'revision="bayit-00002-abc"' in query["query"]
        assert 'job="bayit"' in query["query"]
    assert fake.queries[1]["query"].count('code=~"5.."') == 1
    assert fake.queries[2]["query"].startswith("sum by (le) (increase(http_request_duration_seconds_bucket{")


async def test_revision_label_and_metrics_are_configurable() -> None:
    fake = FakePrometheus({"r1": Series(10, 0, {"+Inf": 10})}, label="kubernetes_revision")
    with serve(fake):
        settings = PrometheusSpec(
            url=fake.url,
            revision_label="kubernetes_revision",
            requests_metric="requests_total",
            status_label="status",
            latency_metric="latency_seconds",
        )
        window = await PrometheusSource(settings).window("r1", 0, 30)
    assert window.requests == 10
    assert fake.queries[0]["query"] == 'sum(increase(requests_total{kubernetes_revision="r1"}[30s]))'
    assert 'status=~"5.."' in fake.queries[1]["query"]


async def test_no_series_is_no_data_not_an_error() -> None:
    with serve(FakePrometheus()) as fake:
        window = await PrometheusSource(PrometheusSpec(url=fake.url)).window("new-revision", 0, 60)
    assert (window.requests, window.errors, window.latency.total) == (0, 0, 0)


async def test_refused_query_names_source_and_revision() -> None:
    fake = FakePrometheus(
        fail_with=(400, {"status": "error", "errorType": "bad_data", "error": "parse error"})
    )
    with (
        serve(fake),
        pytest.raises(
            AnalysisError, match=r"prometheus http://127\.0\.0\.1:\d+: query for r1 refused \(bad_data\)"
        ),
    ):
        await PrometheusSource(PrometheusSpec(url=fake.url)).window("r1", 0, 60)


async def test_unreachable_server_names_it_without_credentials() -> None:
    port = _free_port()
    source = PrometheusSource(PrometheusSpec(url=f"http://admin:hunter2@127.0.0.1:{port}", timeout=2.0))
    with pytest.raises(AnalysisError) as info:
        await source.window("r1", 0, 60)
    message = str(info.value)
    assert f"prometheus http://127.0.0.1:{port}: cannot query metrics of r1" in message
    assert "hunter2" not in message and "admin" not in message


async def test_bearer_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROM_TOKEN", "s3cret-token")
    with serve(FakePrometheus({"r1": Series(5, 0, {"+Inf": 5})})) as fake:
        await PrometheusSource(PrometheusSpec(url=fake.url, bearer_token_env="PROM_TOKEN")).window(
            "r1", 0, 60
        )
    assert fake.queries[0]["_auth"] == "Bearer s3cret-token"
    monkeypatch.delenv("PROM_TOKEN")
    with pytest.raises(AnalysisConfigError, match="PROM_TOKEN") as info:
        PrometheusSource(PrometheusSpec(url=fake.url, bearer_token_env="PROM_TOKEN"))
    assert "s3cret" not in str(info.value)


def test_label_values_are_escaped() -> None:
    assert promql_string('a"b\\c') == '"a\\"b\\\\c"'
    source = PrometheusSource(PrometheusSpec(url="http://127.0.0.1:9090"))
    assert 'revision="x\\"}"' in source.queries('x"}', 60)["requests"]


def test_registry_builds_it_from_the_spec() -> None:
    spec = AnalysisSpec(source="prometheus", prometheus=PrometheusSpec(url="http://127.0.0.1:9090"))
    assert isinstance(create_source(spec), PrometheusSource)
