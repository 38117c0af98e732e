"""Metric sources by name, as keel.yaml spells them; unknown names are refused.

Each source module exposes ``create(spec: AnalysisSpec, **context) -> MetricSource``; modules are imported
only when used, so a source's client library costs nothing to commands that do not need it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from keel.analysis.errors import AnalysisConfigError

if TYPE_CHECKING:
    from keel.analysis.base import MetricSource
    from keel.analysis.config import AnalysisSpec

SOURCES: dict[str, str] = {
    "router": "keel.analysis.sources.router",
    "prometheus": "keel.analysis.sources.prometheus",
    "cloudmonitoring": "keel.analysis.sources.cloudmonitoring",
}


def create_source(spec: AnalysisSpec, **context: Any) -> MetricSource:
    """The source ``spec.source`` names. ``context`` carries what only the caller knows (for the local
    router: how to reach it); each source takes the keys it needs."""
    try:
        module_name = SOURCES[spec.source]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise AnalysisConfigError(f"unknown metric source {spec.source!r}; known: {known}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AnalysisConfigError(f"metric source {spec.source!r} is not available: {exc}") from exc
    factory = getattr(module, "create", None)
    if factory is None:
        raise AnalysisConfigError(f"metric source {spec.source!r} has no create() factory")
    source: MetricSource = factory(spec, **context)
    return source
