"""Judges by name, as keel.yaml spells them; unknown names are refused."""

from __future__ import annotations

from collections.abc import Callable

from keel.analysis.base import Judge
from keel.analysis.config import AnalysisSpec
from keel.analysis.errors import AnalysisConfigError


def _thresholds(spec: AnalysisSpec) -> Judge:
    from keel.analysis.judges.thresholds import ThresholdJudge

    return ThresholdJudge(spec)


def _compare(spec: AnalysisSpec) -> Judge:
    from keel.analysis.judges.compare import CompareJudge

    return CompareJudge(spec)


JUDGES: dict[str, Callable[[AnalysisSpec], Judge]] = {"thresholds": _thresholds, "compare": _compare}


def create_judge(name: str, spec: AnalysisSpec) -> Judge:
    """The judge called ``name``, configured from ``spec``."""
    try:
        factory = JUDGES[name]
    except KeyError:
        raise AnalysisConfigError(f"unknown judge {name!r}; known: {', '.join(sorted(JUDGES))}") from None
    return factory(spec)
