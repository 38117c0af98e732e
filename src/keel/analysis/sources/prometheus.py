"""Prometheus as a metric source: instant PromQL queries over its HTTP API (``/api/v1/query``).

Three queries per window, all evaluated at the window's end over a range as long as the window:

- requests: ``sum(increase(<requests_metric>{<revision_label>="<rev>"}[<range>]))``
- errors:   the same with ``<status_label>=~"5.."``
- latency:  ``sum by (le) (increase(<latency_metric>_bucket{<revision_label>="<rev>"}[<range>]))``

Counters that do not exist yet give an empty result: that is "no data" (0), not an error.
"""

from __future__ import annotations

import math
import os
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, model_validator

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.analysis.errors import AnalysisConfigError, AnalysisError
from keel.analysis.sources.context import SourceContext
from keel.durations import Duration
from keel.tls import tls_context


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _display_url(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class PrometheusSpec(BaseModel):
    """Where and how to query Prometheus (HTTP API ``/api/v1/query``): ``analysis.prometheus`` in keel.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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


class PrometheusSource:
    """Per-revision windows from Prometheus. ``transport`` is for tests; the default is the network."""

    Config: ClassVar[type[BaseModel]] = PrometheusSpec

    @classmethod
    def from_config(cls, config: BaseModel | None, context: SourceContext) -> PrometheusSource:
        if not isinstance(config, PrometheusSpec):
            raise AnalysisConfigError("metric source 'prometheus' needs an analysis.prometheus section")
        return cls(config, transport=context.options.get("transport"))

    def __init__(
        self, settings: PrometheusSpec, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._display = _display_url(settings.url)
        self._token: str | None = None
        if settings.bearer_token_env:
            token = os.environ.get(settings.bearer_token_env)
            if not token:
                raise AnalysisConfigError(
                    f"prometheus {self._display}: environment variable {settings.bearer_token_env} "
                    "(bearer token) is not set"
                )
            self._token = token

    def _selector(self, revision: str, extra: str = "") -> str:
        s = self._settings
        parts = [f"{s.revision_label}={promql_string(revision)}"]
        if extra:
            parts.append(extra)
        if s.selector.strip():
            parts.append(s.selector.strip().strip(","))
        return "{" + ",".join(parts) + "}"

    def queries(self, revision: str, seconds: int) -> dict[str, str]:
        """The PromQL of one window (public so that users can see what is asked)."""
        s = self._settings
        rng = f"[{seconds}s]"
        errors = f"{s.status_label}=~{promql_string('5..')}"
        return {
            "requests": f"sum(increase({s.requests_metric}{self._selector(revision)}{rng}))",
            "errors": f"sum(increase({s.requests_metric}{self._selector(revision, errors)}{rng}))",
            "latency": f"sum by (le) (increase({s.latency_metric}_bucket{self._selector(revision)}{rng}))",
        }

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        if end < start:
            raise AnalysisError(f"prometheus {self._display}: window of {revision} ends before it starts")
        seconds = max(1, math.ceil(end - start))
        queries = self.queries(revision, seconds)
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with httpx.AsyncClient(
            base_url=self._settings.url,
            timeout=self._settings.timeout,
            transport=self._transport,
            headers=headers,
            verify=tls_context(),
        ) as client:
            requests = _scalar(await self._query(client, revision, queries["requests"], end))
            errors = _scalar(await self._query(client, revision, queries["errors"], end))
            buckets = await self._query(client, revision, queries["latency"], end)
        histogram = _histogram(buckets)
        errors = min(errors, requests)
        return RevisionWindow(revision, start, end, requests, errors, histogram)

    async def _query(self, client: httpx.AsyncClient, revision: str, promql: str, at: float) -> list[Any]:
        where = f"prometheus {self._display}"
        try:
            response = await client.get("/api/v1/query", params={"query": promql, "time": f"{at:.3f}"})
        except httpx.HTTPError as exc:
            raise AnalysisError(
                f"{where}: cannot query metrics of {revision}: {exc.__class__.__name__}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise AnalysisError(f"{where}: HTTP {response.status_code}, not a Prometheus API answer")
        if body.get("status") != "success":
            kind = body.get("errorType", "error")
            raise AnalysisError(f"{where}: query for {revision} refused ({kind}): {body.get('error', '')}")
        data = body.get("data") or {}
        if data.get("resultType") != "vector":
            raise AnalysisError(f"{where}: expected a vector result, got {data.get('resultType')!r}")
        result = data.get("result")
        if not isinstance(result, list):
            raise AnalysisError(f"{where}: malformed result for {revision}")
        return result


def _number(sample: Any) -> float:
    try:
        value = float(sample["value"][1])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise AnalysisError(f"prometheus: malformed sample {sample!r}") from exc
    return 0.0 if math.isnan(value) else value


def _scalar(result: list[Any]) -> int:
    """A summed counter increase as a whole number of events; no series means none happened."""
    return max(0, round(sum(_number(s) for s in result)))


def _histogram(result: list[Any]) -> LatencyHistogram:
    """Cumulative ``le`` buckets -> per-bucket counts (Prometheus extrapolates increases, so round and never
    let a bucket go negative)."""
    cumulative: dict[float, float] = {}
    for sample in result:
        le = (sample.get("metric") or {}).get("le")
        if le is None:
            continue
        bound = math.inf if le in ("+Inf", "Inf", "inf") else float(le)
        cumulative[bound] = cumulative.get(bound, 0.0) + _number(sample)
    if not cumulative:
        return LatencyHistogram((math.inf,), (0,))
    bounds = tuple(sorted(cumulative))
    counts = []
    previous = 0
    for bound in bounds:
        total = max(previous, round(cumulative[bound]))
        counts.append(total - previous)
        previous = total
    return LatencyHistogram(bounds, tuple(counts))
