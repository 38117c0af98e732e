"""The ``analysis:`` section of keel.yaml and the factory that turns it into an Analyzer for the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from keel.analysis.base import Analyzer, Judge, MetricSource
from keel.durations import Duration
from keel.shares import Fraction, Increase, share_value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdsSpec(_Model):
    """Fixed limits on the canary alone (Flagger-style): used on a first deploy, when there is no baseline."""

    min_success_rate: Fraction = 0.99
    max_p95: Duration | None = None
    max_p99: Duration | None = None


class ErrorsSpec(_Model):
    """Error-rate comparison with the baseline: fail when the canary's rate is credibly above
    ``(1 + allowed_increase)`` times the baseline's and the difference is credibly more than ``ignore_below`` (both tested at the same alpha)."""

    allowed_increase: Increase = 0.0
    ignore_below: Fraction = 0.002
    critical: bool = True


class LatencySpec(_Model):
    """Latency comparison with the baseline (Mann-Whitney U, Hodges-Lehmann ratio): fail when the canary is
    credibly more than ``1 + allowed_increase`` times slower (the test is against the allowance itself, so a
    canary inside it passes at any traffic)."""

    allowed_increase: Increase = 0.05
    critical: bool = True


class TailSpec(_Model):
    """Tail comparison: the share of requests slower than the pooled ``quantile`` latency; fail when the
    canary's share is credibly above ``(1 + allowed_increase)`` times the baseline's and credibly more than
    ``ignore_below`` higher."""

    quantile: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.99
    allowed_increase: Increase = 0.0
    ignore_below: Fraction = 0.001
    critical: bool = True


class AnalysisSpec(_Model):
    """How canaries are judged. Every key has a default, so ``analysis:`` may be left out of keel.yaml."""

    source: str = "router"
    judge: str = "auto"
    interval: Duration = 30.0
    warmup: Duration = 0.0
    cold_start: Duration = 60.0
    min_requests: Annotated[int, Field(ge=1)] = 100
    max_extra_hold: Duration = 600.0
    on_inconclusive: Literal["fail", "pause"] = "fail"
    low_traffic: Literal["wait", "judge"] = "wait"
    false_fail_rate: Annotated[float, BeforeValidator(share_value), Field(gt=0.0, le=0.2)] = 0.01
    noncritical_failures_to_fail: Annotated[int, Field(ge=1)] = 2
    thresholds: ThresholdsSpec = ThresholdsSpec()
    errors: ErrorsSpec = ErrorsSpec()
    latency: LatencySpec = LatencySpec()
    tail: TailSpec = TailSpec()

    @field_validator("source")
    @classmethod
    def _known_source(cls, name: str) -> str:
        from keel.analysis.sources.registry import SOURCES

        if name not in SOURCES:
            raise ValueError(SOURCES.unknown(name))
        return name

    @field_validator("judge")
    @classmethod
    def _known_judge(cls, name: str) -> str:
        from keel.analysis.judges.registry import JUDGES

        if name != "auto" and name not in JUDGES:
            raise ValueError(f"{JUDGES.unknown(name)[:-1]}, or auto)")
        return name

    @model_validator(mode="after")
    def _check_source(self) -> AnalysisSpec:
        from keel.analysis.sources.registry import SOURCES

        model = SOURCES.config_model(self.source)
        needed = model is not None and any(f.is_required() for f in model.model_fields.values())
        if needed and self.source_settings() is None:
            required = ", ".join(n for n, f in model.model_fields.items() if f.is_required())  # type: ignore[union-attr]
            raise ValueError(f"source {self.source} needs a {self.source}: section ({required}, ...)")
        return self

    def source_settings(self, name: str | None = None) -> BaseModel | None:
        """The settings of a metric source (its own section, named like it), or None when not given."""
        settings: BaseModel | None = getattr(self, name or self.source, None)
        return settings


def _compose(base: type[AnalysisSpec]) -> type[AnalysisSpec]:
    """The analysis section with one optional key per registered metric source, holding that source's own
    settings model (``prometheus:``, ``cloudmonitoring:``): a new source adds its key by registering."""
    from keel.analysis.sources.registry import SOURCES

    fields: dict[str, Any] = {name: (model | None, None) for name, model in SOURCES.config_models().items()}
    return create_model("AnalysisSpec", __base__=base, __doc__=base.__doc__, __module__=__name__, **fields)


if not TYPE_CHECKING:
    AnalysisSpec = _compose(AnalysisSpec)


def build_judge(spec: AnalysisSpec, *, has_baseline: bool) -> Judge:
    """The judge the spec asks for: ``auto`` compares with the baseline when there is one, else thresholds."""
    from keel.analysis.judges.registry import create_judge

    name = spec.judge
    if name == "auto":
        name = "compare" if has_baseline else "thresholds"
    return create_judge(name, spec)


def build_analyzer(spec: AnalysisSpec, source: MetricSource, *, has_baseline: bool) -> Analyzer:
    """The Analyzer the rollout engine calls at each look of a canary step."""
    from keel.analysis.analyzer import WindowAnalyzer
    from keel.analysis.judges.registry import create_judge

    judge = build_judge(spec, has_baseline=has_baseline)
    return WindowAnalyzer(
        source,
        judge,
        fallback=create_judge("thresholds", spec),
        warmup=spec.warmup,
        cold_start=spec.cold_start,
    )
