import pytest

from keel.analysis.config import AnalysisSpec
from keel.analysis.errors import AnalysisConfigError
from keel.analysis.sources.registry import SOURCES, create_source
from keel.errors import ConfigError


def test_known_names() -> None:
    assert set(SOURCES) == {"router", "prometheus", "cloudmonitoring"}


def test_unknown_name_is_refused() -> None:
    spec = AnalysisSpec().model_copy(update={"source": "graphite"})
    with pytest.raises(
        ConfigError, match=r"unknown metric source 'graphite' \(known: cloudmonitoring, prometheus, router\)"
    ):
        create_source(spec)


def test_router_needs_the_local_platform() -> None:
    with pytest.raises(AnalysisConfigError, match="router"):
        create_source(AnalysisSpec())


def test_each_source_owns_its_settings_section() -> None:
    assert SOURCES.config_model("router") is None
    spec = AnalysisSpec.model_validate(
        {"source": "prometheus", "prometheus": {"url": "http://127.0.0.1:9090"}}
    )
    settings = spec.source_settings()
    assert settings is not None and settings.model_dump()["url"] == "http://127.0.0.1:9090"
    with pytest.raises(ValueError, match="source prometheus needs a prometheus: section"):
        AnalysisSpec.model_validate({"source": "prometheus"})
