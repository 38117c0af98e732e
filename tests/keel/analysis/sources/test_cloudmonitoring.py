import math

import grpc
import pytest

from keel.analysis.config import AnalysisSpec
from keel.analysis.errors import AnalysisConfigError, AnalysisError
from keel.analysis.sources.cloudmonitoring import CloudMonitoringSource
from keel.analysis.sources.cloudmonitoring_config import CloudMonitoringSpec
from keel.analysis.sources.registry import create_source
from tests.keel.analysis.sources.fake_monitoring import FakeMonitoring, Revision, serve

SPEC = CloudMonitoringSpec(project="bayit-plus", service="bayit-plus-backend", timeout=10.0)


async def test_window_from_the_official_client_over_grpc() -> None:
    counts = [0] * 22
    counts[5], counts[7], counts[21] = 90, 9, 1  # 16-32 ms, 64-128 ms, overflow
    fake = FakeMonitoring({"bayit-plus-backend-00042-xyz": Revision({"2xx": 95, "4xx": 2, "5xx": 3}, counts)})
    with serve(fake) as client:
        source = CloudMonitoringSource(SPEC, client=client)
        window = await source.window("bayit-plus-backend-00042-xyz", 1_700_000_000.0, 1_700_000_600.0)
    assert (window.requests, window.errors) == (100, 3)
    bounds = window.latency.bounds
    assert bounds[0] == pytest.approx(0.001)  # scale 1 ms, underflow bucket
    assert bounds[5] == pytest.approx(0.032)  # 2^5 ms
    assert bounds[-1] == math.inf and len(bounds) == 22
    assert window.latency.counts[5] == 90 and window.latency.counts[-1] == 1
    assert window.latency.total == 100

    count_query, latency_query = fake.requests
    assert count_query.name == "projects/bayit-plus"
    assert 'metric.type = "run.googleapis.com/request_count"' in count_query.filter
    assert 'resource.labels.revision_name = "bayit-plus-backend-00042-xyz"' in count_query.filter
    assert 'resource.labels.service_name = "bayit-plus-backend"' in count_query.filter
    assert list(count_query.aggregation.group_by_fields) == ["metric.labels.response_code_class"]
    assert count_query.aggregation.alignment_period.seconds == 600
    assert count_query.interval.end_time.timestamp() == 1_700_000_600
    assert 'metric.type = "run.googleapis.com/request_latencies"' in latency_query.filter


async def test_unknown_revision_is_no_data() -> None:
    with serve(FakeMonitoring()) as client:
        window = await CloudMonitoringSource(SPEC, client=client).window("nobody", 0.0, 600.0)
    assert (window.requests, window.errors, window.latency.total) == (0, 0, 0)


async def test_api_errors_name_project_and_revision() -> None:
    with serve(FakeMonitoring(fail=grpc.StatusCode.PERMISSION_DENIED)) as client:
        source = CloudMonitoringSource(SPEC, client=client)
        with pytest.raises(
            AnalysisError, match=r"cloud monitoring \(project bayit-plus, revision r1\): PermissionDenied"
        ):
            await source.window("r1", 0.0, 600.0)


def test_registry_factory_needs_its_section() -> None:
    with pytest.raises(AnalysisConfigError):
        create_source(AnalysisSpec().model_copy(update={"source": "cloudmonitoring"}))
    spec = AnalysisSpec(source="cloudmonitoring", cloudmonitoring=SPEC)
    assert isinstance(create_source(spec, client=object()), CloudMonitoringSource)
