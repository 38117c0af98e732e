"""Google Cloud Monitoring as a metric source: Cloud Run's request count by response code class and its
request latency distribution, filtered by revision name, through the official client
(``google-cloud-monitoring``, ``MetricServiceClient.list_time_series``) over gRPC or, with ``transport: rest``,
through the REST API (``cloudmonitoring_rest``). Both wires take the same request and return the same messages.

Both metrics are DELTA metrics of the ``cloud_run_revision`` resource. Each window is one aggregation:
``ALIGN_DELTA`` over an alignment period as long as the window and ``REDUCE_SUM`` across series (grouped by
``response_code_class`` for the counts). Latencies are distributions in milliseconds with exponential buckets.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from keel.analysis.base import LatencyHistogram, RevisionWindow
from keel.analysis.errors import AnalysisConfigError, AnalysisError
from keel.analysis.sources.cloudmonitoring_config import CloudMonitoringSpec
from keel.analysis.sources.cloudmonitoring_rest import RestMonitoring
from keel.analysis.sources.context import SourceContext
from keel.types import Clock

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bucket_bounds(options: Any) -> tuple[float, ...]:
    """Upper bounds (in the metric's unit) of every bucket of a Distribution's BucketOptions, the last one
    +Inf: bucket 0 is the underflow bucket, the last the overflow bucket (google.api.Distribution)."""
    kind = options._pb.WhichOneof("options") if hasattr(options, "_pb") else options.WhichOneof("options")
    if kind == "exponential_buckets":
        e = options.exponential_buckets
        finite = [e.scale * e.growth_factor**i for i in range(e.num_finite_buckets + 1)]
    elif kind == "linear_buckets":
        lin = options.linear_buckets
        finite = [lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1)]
    elif kind == "explicit_buckets":
        finite = list(options.explicit_buckets.bounds)
    else:
        finite = []
    return (*finite, math.inf)


class WindowIncomplete(AnalysisError):
    """The window asked for lies (wholly) in the last ``ingestion_delay`` seconds, whose points Cloud Monitoring
    has not got yet: reading it would report "no traffic" where there was some. The engine holds and looks
    again (an AnalysisError is an inconclusive look)."""


class CloudMonitoringSource:
    """Per-revision windows of a Cloud Run service from Cloud Monitoring.

    ``client`` is a ``MetricServiceClient`` (tests pass one on a channel to a local server); by default one is
    made with Application Default Credentials, on ``api_endpoint`` when the spec sets one. With ``transport:
    rest``, ``credentials`` (google.auth Credentials) replace Application Default Credentials.

    Points arrive late: only the part of a window older than ``ingestion_delay`` is read (the window returned
    ends there), and a window with no such part raises WindowIncomplete."""

    Config: ClassVar[type[BaseModel]] = CloudMonitoringSpec

    @classmethod
    def from_config(cls, config: BaseModel | None, context: SourceContext) -> CloudMonitoringSource:
        """``context.options`` may carry a ready MetricServiceClient (``client``, grpc) and google.auth
        ``credentials`` (rest)."""
        if not isinstance(config, CloudMonitoringSpec):
            raise AnalysisConfigError(
                "metric source 'cloudmonitoring' needs an analysis.cloudmonitoring section"
            )
        return cls(
            config,
            client=context.options.get("client"),
            credentials=context.options.get("credentials"),
            clock=context.options.get("clock", time.time),
        )

    def __init__(
        self,
        settings: CloudMonitoringSpec,
        *,
        client: Any = None,
        credentials: Any = None,
        clock: Clock = time.time,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._client = client
        self._rest: RestMonitoring | None = None
        if settings.transport == "rest":
            self._rest = RestMonitoring(settings, credentials=credentials)

    def _get_client(self) -> Any:
        if self._client is None:
            from google.cloud import monitoring_v3

            options = {"api_endpoint": self._settings.api_endpoint} if self._settings.api_endpoint else None
            try:
                self._client = monitoring_v3.MetricServiceClient(client_options=options)
            except Exception as exc:  # google.auth DefaultCredentialsError and friends
                raise AnalysisError(
                    f"cloud monitoring (project {self._settings.project}): cannot create a client: "
                    f"{exc.__class__.__name__}"
                ) from exc
        return self._client

    def filter(self, metric_type: str, revision: str) -> str:
        parts = [
            f"metric.type = {_quote(metric_type)}",
            'resource.type = "cloud_run_revision"',
            f"resource.labels.revision_name = {_quote(revision)}",
        ]
        if self._settings.service:
            parts.append(f"resource.labels.service_name = {_quote(self._settings.service)}")
        return " AND ".join(parts)

    def _request(
        self, metric_type: str, revision: str, start: float, end: float, group_by: Sequence[str]
    ) -> Any:
        from google.cloud import monitoring_v3
        from google.protobuf import duration_pb2, timestamp_pb2

        seconds = max(60, math.ceil(end - start))  # Cloud Monitoring's minimum alignment period is 60 s
        interval = monitoring_v3.TimeInterval(
            start_time=timestamp_pb2.Timestamp(seconds=int(end) - seconds),
            end_time=timestamp_pb2.Timestamp(seconds=math.ceil(end)),
        )
        aggregation = monitoring_v3.Aggregation(
            alignment_period=duration_pb2.Duration(seconds=seconds),
            per_series_aligner=monitoring_v3.Aggregation.Aligner.ALIGN_DELTA,
            cross_series_reducer=monitoring_v3.Aggregation.Reducer.REDUCE_SUM,
            group_by_fields=list(group_by),
        )
        return monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{self._settings.project}",
            filter=self.filter(metric_type, revision),
            interval=interval,
            aggregation=aggregation,
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
        )

    def _list(self, request: Any, revision: str) -> list[Any]:
        from google.api_core import exceptions as google_exceptions

        where = f"cloud monitoring (project {self._settings.project}, revision {revision})"
        if self._rest is not None:
            return self._rest.list_time_series(request, where)
        client = self._get_client()
        try:
            return list(client.list_time_series(request=request, timeout=self._settings.timeout))
        except google_exceptions.GoogleAPICallError as exc:
            raise AnalysisError(f"{where}: {exc.__class__.__name__}: {exc.message}") from exc
        except google_exceptions.RetryError as exc:
            raise AnalysisError(f"{where}: gave up retrying: {exc.message}") from exc

    def _read(self, revision: str, start: float, end: float) -> RevisionWindow:
        counts = self._list(
            self._request(REQUEST_COUNT, revision, start, end, ["metric.labels.response_code_class"]),
            revision,
        )
        requests = errors = 0
        for series in counts:
            total = sum(int(point.value.int64_value) for point in series.points)
            requests += total
            if series.metric.labels.get("response_code_class") == "5xx":
                errors += total
        latencies = self._list(self._request(REQUEST_LATENCIES, revision, start, end, []), revision)
        return RevisionWindow(revision, start, end, requests, errors, _histogram(latencies))

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        if end < start:
            raise AnalysisError(f"cloud monitoring: window of {revision} ends before it starts")
        delay = self._settings.ingestion_delay
        complete = self._clock() - delay
        if complete <= start:
            raise WindowIncomplete(
                f"cloud monitoring: the window of {revision} is not complete yet (points arrive up to "
                f"{delay:g}s late; readable in {start - complete + 1:.0f}s)"
            )
        return await asyncio.to_thread(self._read, revision, start, min(end, complete))


def _histogram(series_list: Sequence[Any]) -> LatencyHistogram:
    """Sum the distributions of every point into one histogram, in seconds."""
    bounds: tuple[float, ...] | None = None
    counts: list[int] = []
    for series in series_list:
        for point in series.points:
            dist = point.value.distribution_value
            these = tuple(b / 1000.0 for b in bucket_bounds(dist.bucket_options))
            if bounds is None:
                bounds, counts = these, [0] * len(these)
            elif these != bounds:
                raise AnalysisError("cloud monitoring: request_latencies points have different buckets")
            for i, c in enumerate(dist.bucket_counts):
                if i < len(counts):
                    counts[i] += int(c)
    if bounds is None:
        return LatencyHistogram((math.inf,), (0,))
    return LatencyHistogram(bounds, tuple(counts))
