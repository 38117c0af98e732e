"""The ``analysis:`` section of keel.yaml and the factory that turns it into an Analyzer for the engine."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from keel.analysis.base import Analyzer, Judge, MetricSource
from keel.durations import Duration


def _fraction(value: Any) -> Any:
    """Accept 0.99, "99%" or "99.5 %" for a share."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1].strip()) / 100.0
        except ValueError:
            raise ValueError(f"invalid percentage {value!r}") from None
    return value


Fraction = Annotated[float, BeforeValidator(_fraction), Field(ge=0.0, le=1.0)]
"""A share between 0 and 1, written as 0.99 or "99%"."""

Increase = Annotated[float, BeforeValidator(_fraction), Field(ge=0.0)]
"""A relative increase, written as 0.1 or "10%" (may exceed 100 %)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdsSpec(_Model):
    """Fixed limits on the canary alone (Flagger-style): used on a first deploy, when there is no baseline."""

    min_success_rate: Fraction = 0.99
    max_p95: Duration | None = None
    max_p99: Duration | None = None


class ErrorsSpec(_Model):
    """Error-rate comparison with the baseline: fail when the canary's rate is credibly above
    ``(1 + allowed_increase)`` times the baseline's and the difference is at least ``ignore_below``."""

    allowed_increase: Increase = 0.0
    ignore_below: Fraction = 0.002
    critical: bool = True


class LatencySpec(_Model):
    """Latency comparison with the baseline (Mann-Whitney U, Hodges-Lehmann ratio): fail when the canary is
    credibly slower and the estimated slow-down exceeds ``allowed_increase``."""

    allowed_increase: Increase = 0.05
    critical: bool = True


class TailSpec(_Model):
    """Tail comparison: the share of requests slower than the pooled ``quantile`` latency; fail when the
    canary's share is credibly above ``(1 + allowed_increase)`` times the baseline's and at least
    ``ignore_below`` higher."""

    quantile: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.99
    allowed_increase: Increase = 0.0
    ignore_below: Fraction = 0.001
    critical: bool = True


class PrometheusSpec(_Model):
    """Where and how to query Prometheus (HTTP API ``/api/v1/query``)."""

    url: str
    revision_label: str = "revision"
    requests_metric: str = "http_requests_total"
    status_label: str = "code"
    latency_metric: str = "http_request_duration_seconds"
    selector: str = ""
    bearer_token_env: str | None = None
    timeout: Duration = 10.0

    @model_validator(mode="after")
    def _check(self) -> PrometheusSpec:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class CloudMonitoringSpec(_Model):
    """Which Cloud Run service's metrics to read from Google Cloud Monitoring, and over which wire.

    ``transport: grpc`` uses the official client's ``MetricServiceClient``; ``transport: rest`` calls the
    documented ``GET /v3/projects/{project}/timeSeries`` over HTTPS. Both use Application Default
    Credentials. ``api_endpoint`` replaces Google's endpoint: ``host:port`` for grpc; for rest either
    ``host[:port]`` (HTTPS) or a full ``https://`` URL, ``http://`` only to a loopback host because every
    request carries a bearer token. ``timeout`` bounds each call (each page, for rest)."""

    project: str
    service: str | None = None
    api_endpoint: str | None = None
    transport: Literal["grpc", "rest"] = "grpc"
    timeout: Duration = 30.0

    @model_validator(mode="after")
    def _check_endpoint(self) -> CloudMonitoringSpec:
        from urllib.parse import urlsplit

        endpoint = self.api_endpoint
        if endpoint is None or "://" not in endpoint:
            return self
        if self.transport == "grpc":
            raise ValueError(f"api_endpoint {endpoint!r}: transport grpc takes host:port, not a URL")
        url = urlsplit(endpoint)
        loopback = url.hostname in ("localhost", "127.0.0.1", "::1")
        if url.scheme != "https" and not (url.scheme == "http" and loopback):
            raise ValueError(f"api_endpoint {endpoint!r}: use https:// (http:// only to a loopback host)")
        return self


class AnalysisSpec(_Model):
    """How canaries are judged. Every key has a default, so ``analysis:`` may be left out of keel.yaml."""

    source: str = "router"
    judge: Literal["auto", "thresholds", "compare"] = "auto"
    interval: Duration = 30.0
    warmup: Duration = 0.0
    cold_start: Duration = 60.0
    min_requests: Annotated[int, Field(ge=1)] = 100
    max_extra_hold: Duration = 600.0
    on_inconclusive: Literal["fail", "pause"] = "fail"
    low_traffic: Literal["wait", "judge"] = "wait"
    false_fail_rate: Annotated[float, BeforeValidator(_fraction), Field(gt=0.0, le=0.2)] = 0.01
    noncritical_failures_to_fail: Annotated[int, Field(ge=1)] = 2
    thresholds: ThresholdsSpec = ThresholdsSpec()
    errors: ErrorsSpec = ErrorsSpec()
    latency: LatencySpec = LatencySpec()
    tail: TailSpec = TailSpec()
    prometheus: PrometheusSpec | None = None
    cloudmonitoring: CloudMonitoringSpec | None = None

    @model_validator(mode="after")
    def _check_source(self) -> AnalysisSpec:
        from keel.analysis.sources.registry import SOURCES

        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}; known: {', '.join(sorted(SOURCES))}")
        if self.source == "prometheus" and self.prometheus is None:
            raise ValueError("source prometheus needs a prometheus: section (url, revision_label, ...)")
        if self.source == "cloudmonitoring" and self.cloudmonitoring is None:
            raise ValueError("source cloudmonitoring needs a cloudmonitoring: section (project, ...)")
        return self


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
