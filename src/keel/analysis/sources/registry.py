"""Metric sources by name, as keel.yaml spells them (``analysis.source``); unknown names are refused.

Each source is a class with ``Config`` (its settings model, the ``analysis.<name>`` section; None when it takes
none) and ``from_config``; modules are imported when used, client libraries inside them only when a source is
built, so validating keel.yaml costs nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keel.plugins import Registry

if TYPE_CHECKING:
    from keel.analysis.base import MetricSource
    from keel.analysis.config import AnalysisSpec
    from keel.analysis.sources.context import SourceAdapter

SOURCES: Registry[type[SourceAdapter]] = Registry(
    "metric source",
    {
        "router": "keel.analysis.sources.router:RouterSource",
        "prometheus": "keel.analysis.sources.prometheus:PrometheusSource",
        "cloudmonitoring": "keel.analysis.sources.cloudmonitoring:CloudMonitoringSource",
    },
)


def create_source(spec: AnalysisSpec, *, platform: Any = None, **options: Any) -> MetricSource:
    """The source ``spec.source`` names, built from its own settings. ``platform`` is the environment's
    (the router source reads it); ``options`` carry what only the caller knows (a client, credentials)."""
    from keel.analysis.sources.context import SourceContext

    adapter = SOURCES.load(spec.source)
    return adapter.from_config(spec.source_settings(), SourceContext(platform, options))
