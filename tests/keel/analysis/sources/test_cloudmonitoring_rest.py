import json
import math
import socket
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2.credentials import Credentials
from pydantic import ValidationError

from keel.analysis.config import AnalysisSpec
from keel.analysis.errors import AnalysisError
from keel.analysis.sources.cloudmonitoring import CloudMonitoringSource
from keel.analysis.sources.cloudmonitoring_config import CloudMonitoringSpec
from keel.analysis.sources.cloudmonitoring_rest import base_url
from keel.analysis.sources.registry import create_source
from tests.keel.analysis.sources import fake_monitoring
from tests.keel.analysis.sources.fake_monitoring import FakeMonitoring, Revision
from tests.keel.analysis.sources.fake_monitoring_rest import FakeMonitoringRest, serve

TOKEN = "ya29.fake-access-token"
REV = "bayit-plus-backend-00042-xyz"
START, END = 1_700_000_000.0, 1_700_000_600.0


def latency_counts() -> list[int]:
    counts = [0] * 22
    counts[5], counts[7], counts[21] = 90, 9, 1  # 16-32 ms, 64-128 ms, overflow
    return counts


def spec(url: str, **changes: object) -> CloudMonitoringSpec:
    fields: dict[str, object] = {
        "project": "bayit-plus",
        "service": "bayit-plus-backend",
        "transport": "rest",
        "api_endpoint": url,
        "timeout": 10.0,
    }
    return CloudMonitoringSpec.model_validate({**fields, **changes})


def source(url: str, token: str = TOKEN, **changes: object) -> CloudMonitoringSource:
    return CloudMonitoringSource(spec(url, **changes), credentials=Credentials(token=token))


def pages(fake: FakeMonitoringRest, metric: str) -> list[dict[str, str]]:
    return [dict(q) for q in fake.requests if f'metric.type = "{metric}"' in dict(q)["filter"]]


async def test_window_over_rest_follows_pages() -> None:
    data = {REV: Revision({"2xx": 95, "4xx": 2, "5xx": 3}, latency_counts())}
    with serve(FakeMonitoringRest(data, page_size=2)) as fake:
        window = await source(fake.url).window(REV, START, END)
    assert (window.requests, window.errors) == (100, 3)
    bounds = window.latency.bounds
    assert bounds[0] == pytest.approx(0.001) and bounds[5] == pytest.approx(0.032)
    assert bounds[-1] == math.inf and len(bounds) == 22
    assert window.latency.counts[5] == 90 and window.latency.counts[7] == 9 and window.latency.counts[-1] == 1
    assert window.latency.total == 100

    first, second = pages(fake, "run.googleapis.com/request_count")  # three classes, two per page
    assert "pageToken" not in first and second["pageToken"]
    assert {k: v for k, v in second.items() if k != "pageToken"} == first
    assert first["interval.startTime"] == "2023-11-14T22:13:20Z"
    assert first["interval.endTime"] == "2023-11-14T22:23:20Z"
    assert first["aggregation.alignmentPeriod"] == "600s"
    assert first["aggregation.perSeriesAligner"] == "ALIGN_DELTA"
    assert first["aggregation.crossSeriesReducer"] == "REDUCE_SUM"
    assert first["aggregation.groupByFields"] == "metric.labels.response_code_class"
    assert first["view"] == "FULL"
    assert f'resource.labels.revision_name = "{REV}"' in first["filter"]
    assert 'resource.labels.service_name = "bayit-plus-backend"' in first["filter"]
    (latency,) = pages(fake, "run.googleapis.com/request_latencies")
    assert "aggregation.groupByFields" not in latency


@pytest.mark.parametrize(("page_size", "count_pages"), [(1, 3), (3, 1)])
async def test_page_size_does_not_change_the_window(page_size: int, count_pages: int) -> None:
    data = {REV: Revision({"2xx": 95, "4xx": 2, "5xx": 3}, latency_counts())}
    with serve(FakeMonitoringRest(data, page_size=page_size)) as fake:
        window = await source(fake.url).window(REV, START, END)
    assert (window.requests, window.errors, window.latency.total) == (100, 3, 100)
    assert len(pages(fake, "run.googleapis.com/request_count")) == count_pages


async def test_both_transports_read_the_same_window() -> None:
    data = {REV: Revision({"2xx": 40, "5xx": 7}, [0, 5, 30, 12], scale=2.0, growth=3.0, finite=2)}
    with fake_monitoring.serve(FakeMonitoring(data)) as client:
        grpc_spec = spec("unused", transport="grpc", api_endpoint=None)
        over_grpc = await CloudMonitoringSource(grpc_spec, client=client).window(REV, START, END)
    with serve(FakeMonitoringRest(data)) as fake:
        over_rest = await source(fake.url).window(REV, START, END)
    assert over_rest == over_grpc
    assert over_rest.latency.bounds == pytest.approx((0.002, 0.006, 0.018, math.inf))


async def test_without_service_the_filter_names_only_the_revision() -> None:
    with serve(FakeMonitoringRest({REV: Revision({"2xx": 1}, [1])})) as fake:
        window = await source(fake.url, service=None).window(REV, START, END)
    assert window.requests == 1
    assert all("service_name" not in dict(q)["filter"] for q in fake.requests)


async def test_revision_without_series_is_no_data() -> None:
    with serve(FakeMonitoringRest({REV: Revision({"2xx": 1}, [1])})) as fake:
        window = await source(fake.url).window("bayit-plus-backend-00099-new", START, END)
    assert (window.requests, window.errors, window.latency.total) == (0, 0, 0)
    assert len(fake.requests) == 2


async def test_permission_denied_names_project_revision_and_status_never_the_token() -> None:
    denied = (403, "PERMISSION_DENIED", "Permission monitoring.timeSeries.list denied (or it may not exist).")
    with serve(FakeMonitoringRest(fail_with=denied)) as fake, pytest.raises(AnalysisError) as caught:
        await source(fake.url).window("r1", START, END)
    message = str(caught.value)
    assert message.startswith(
        "cloud monitoring (project bayit-plus, revision r1): HTTP 403 PERMISSION_DENIED"
    )
    assert "monitoring.timeSeries.list denied" in message
    assert TOKEN not in message


async def test_an_error_echoing_the_token_is_blanked() -> None:
    echo = (400, "INVALID_ARGUMENT", f"bad header Authorization: Bearer {TOKEN}")
    with serve(FakeMonitoringRest(fail_with=echo)) as fake, pytest.raises(AnalysisError) as caught:
        await source(fake.url).window("r1", START, END)
    assert "Bearer <token>" in str(caught.value) and TOKEN not in str(caught.value)


async def test_wrong_token_is_unauthenticated() -> None:
    with serve(FakeMonitoringRest()) as fake, pytest.raises(AnalysisError) as caught:
        await source(fake.url, token="ya29.stale").window("r1", START, END)
    assert "HTTP 401 UNAUTHENTICATED" in str(caught.value) and "ya29.stale" not in str(caught.value)


async def test_wrong_project_is_refused() -> None:
    with serve(FakeMonitoringRest(project="another")) as fake, pytest.raises(AnalysisError, match="HTTP 403"):
        await source(fake.url).window("r1", START, END)


async def test_hung_server_times_out_within_the_timeout() -> None:
    with serve(FakeMonitoringRest(hang=True)) as fake:
        started = time.monotonic()
        with pytest.raises(
            AnalysisError, match=r"revision r1\): no answer from http://127.0.0.1:\d+ within 0.5s"
        ):
            await source(fake.url, timeout=0.5).window("r1", START, END)
        assert time.monotonic() - started < 0.5 + 1.5


async def test_refused_connection() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        AnalysisError, match=r"revision r1\): cannot reach http://127.0.0.1:\d+: ConnectError"
    ):
        await source(f"http://127.0.0.1:{port}").window("r1", START, END)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ((502, "text/html", "<html>Bad Gateway</html>"), r"HTTP 502 \(not a Google API error; text/html\)"),
        ((200, "text/html", "<html>sign in</html>"), r"unreadable answer \(text/html\): Failed to load JSON"),
        ((200, "application/json", '{"timeSeries": 3}'), r"unreadable answer \(application/json\)"),
    ],
)
async def test_answers_that_are_not_the_api(raw: tuple[int, str, str], expected: str) -> None:
    with serve(FakeMonitoringRest(raw=raw)) as fake, pytest.raises(AnalysisError, match=expected):
        await source(fake.url).window("r1", START, END)


def service_account_file(tmp_path: Path, token_uri: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "bayit-plus",
        "private_key_id": "local-test-key",
        "private_key": pem,
        "client_email": "keel@bayit-plus.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(info))
    return path


async def test_application_default_credentials_fetch_a_monitoring_read_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(FakeMonitoringRest({REV: Revision({"2xx": 10, "5xx": 1}, [0, 11])})) as fake:
        monkeypatch.setenv(
            "GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file(tmp_path, fake.url + "/token"))
        )
        window = await CloudMonitoringSource(spec(fake.url)).window(REV, START, END)
    assert (window.requests, window.errors) == (11, 1)
    (claims,) = fake.token_claims  # one token, reused for every call
    assert claims["scope"] == "https://www.googleapis.com/auth/monitoring.read"
    assert len(fake.requests) == 2


async def test_missing_application_default_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with serve(FakeMonitoringRest()) as fake, pytest.raises(AnalysisError) as caught:
        await CloudMonitoringSource(spec(fake.url)).window("r1", START, END)
    assert "revision r1): no Application Default Credentials" in str(caught.value)
    assert "missing.json" in str(caught.value) and fake.requests == []


def test_factory_passes_credentials_to_the_rest_wire() -> None:
    credentials = Credentials(token=TOKEN)
    made = create_source(
        AnalysisSpec(source="cloudmonitoring", cloudmonitoring=spec("monitoring.example:443")),
        credentials=credentials,
    )
    assert made._rest is not None and made._rest._credentials is credentials


def test_endpoints() -> None:
    assert base_url(None) == "https://monitoring.googleapis.com"
    assert base_url("monitoring.example:8443") == "https://monitoring.example:8443"
    assert base_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000"
    with pytest.raises(ValidationError, match="http:// only to a loopback host"):
        spec("http://monitoring.example")
    with pytest.raises(ValidationError, match="transport grpc takes host:port, not a URL"):
        spec("https://monitoring.example", transport="grpc")


def test_spec_refuses_an_unknown_transport() -> None:
    with pytest.raises(ValidationError) as caught:
        AnalysisSpec.model_validate(
            {"source": "cloudmonitoring", "cloudmonitoring": {"project": "p", "transport": "http"}}
        )
    message = str(caught.value)
    assert "cloudmonitoring.transport" in message and "Input should be 'grpc' or 'rest'" in message
    assert CloudMonitoringSpec(project="p").transport == "grpc"
