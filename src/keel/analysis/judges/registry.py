"""Judges by name, as keel.yaml spells them (``analysis.judge``); unknown names are refused.

A judge is a class taking the analysis section (``AnalysisSpec``) it reads its settings from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from keel.plugins import Registry

if TYPE_CHECKING:
    from keel.analysis.base import Judge
    from keel.analysis.config import AnalysisSpec


class JudgeAdapter(Protocol):
    def __call__(self, spec: AnalysisSpec) -> Judge: ...


JUDGES: Registry[JudgeAdapter] = Registry(
    "judge",
    {
        "thresholds": "keel.analysis.judges.thresholds:ThresholdJudge",
        "compare": "keel.analysis.judges.compare:CompareJudge",
    },
)


def create_judge(name: str, spec: AnalysisSpec) -> Judge:
    """The judge called ``name``, configured from ``spec``."""
    return JUDGES.load(name)(spec)
