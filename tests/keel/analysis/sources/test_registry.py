import pytest

from keel.analysis.config import AnalysisSpec
from keel.analysis.errors import AnalysisConfigError
from keel.analysis.sources.registry import SOURCES, create_source


def test_known_names() -> None:
    assert set(SOURCES) == {"router", "prometheus", "cloudmonitoring"}


def test_unknown_name_is_refused() -> None:
    spec = AnalysisSpec().model_copy(update={"source": "graphite"})
    with pytest.raises(AnalysisConfigError, match="unknown metric source 'graphite'"):
        create_source(spec)


def test_router_needs_the_local_platform() -> None:
    with pytest.raises(AnalysisConfigError, match="router"):
        create_source(AnalysisSpec())
