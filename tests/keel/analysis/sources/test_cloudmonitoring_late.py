"""Cloud Monitoring's points arrive late: a window not yet complete is inconclusive, never "no traffic"."""

from __future__ import annotations

import pytest

from keel.analysis.analyzer import WindowAnalyzer
from keel.analysis.base import Look
from keel.analysis.errors import AnalysisError
from keel.analysis.sources.cloudmonitoring import CloudMonitoringSource, WindowIncomplete
from keel.analysis.sources.cloudmonitoring_config import CloudMonitoringSpec
from tests.keel.analysis.sources.fake_monitoring import FakeMonitoring, Revision, serve

SPEC = CloudMonitoringSpec(project="bayit-plus", service="bayit-plus-backend", ingestion_delay=180.0)
NOW = 1_700_000_600.0


async def test_a_window_inside_the_ingestion_delay_is_incomplete_and_nothing_is_read() -> None:
    fake = FakeMonitoring({"r": Revision({"2xx": 100}, [100] + [0] * 21)})
    with serve(fake) as client:
        source = CloudMonitoringSource(SPEC, client=client, clock=lambda: NOW)
        with pytest.raises(WindowIncomplete, match=r"not complete yet .* up to 180s late"):
            await source.window("r", NOW - 120, NOW)
        assert fake.requests == []
        assert issubclass(WindowIncomplete, AnalysisError)  # the engine's look is then inconclusive


async def test_only_the_complete_part_of_a_window_is_read() -> None:
    fake = FakeMonitoring({"r": Revision({"2xx": 100}, [100] + [0] * 21)})
    with serve(fake) as client:
        source = CloudMonitoringSource(SPEC, client=client, clock=lambda: NOW)
        window = await source.window("r", NOW - 600, NOW)
    assert window.end == NOW - 180 and window.requests == 100
    assert {r.interval.end_time.timestamp() for r in fake.requests} == {NOW - 180}


class _Judge:
    name = "thresholds"

    def judge(self, *args: object) -> object:
        raise AssertionError("a judge must not see an incomplete window")


async def test_the_analyzer_never_judges_an_incomplete_window_as_no_traffic() -> None:
    fake = FakeMonitoring({})
    with serve(fake) as client:
        analyzer = WindowAnalyzer(CloudMonitoringSource(SPEC, client=client, clock=lambda: NOW), _Judge())  # type: ignore[arg-type]
        with pytest.raises(WindowIncomplete):
            await analyzer.analyze("canary", "baseline", Look(0, 1, NOW - 60, NOW, 600))
