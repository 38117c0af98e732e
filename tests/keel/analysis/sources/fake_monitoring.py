"""A local gRPC server speaking the Cloud Monitoring API's MetricService.ListTimeSeries, from a fixed table,
the way monitoring.googleapis.com answers Cloud Run's request_count and request_latencies queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.api import distribution_pb2, metric_pb2
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports.grpc import MetricServiceGrpcTransport
from google.cloud.monitoring_v3.types import metric_service


@dataclass
class Revision:
    by_class: dict[str, int]  # response_code_class -> count
    latency_counts: list[int]  # bucket counts (underflow first), exponential buckets below
    scale: float = 1.0
    growth: float = 2.0
    finite: int = 20


@dataclass
class FakeMonitoring:
    data: dict[str, Revision] = field(default_factory=dict)
    requests: list[Any] = field(default_factory=list)
    fail: grpc.StatusCode | None = None

    def list_time_series(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.requests.append(request)
        if self.fail is not None:
            context.abort(self.fail, "caller does not have permission monitoring.timeSeries.list")
        match = re.search(r'resource.labels.revision_name = "([^"]*)"', request.filter)
        metric = re.search(r'metric.type = "([^"]*)"', request.filter)
        if not match or not metric or 'resource.type = "cloud_run_revision"' not in request.filter:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad filter {request.filter}")
        rev = self.data.get(match.group(1))
        out = metric_service.ListTimeSeriesResponse()
        if rev is None:
            return out
        end = request.interval.end_time
        if metric.group(1) == "run.googleapis.com/request_count":
            for code_class, count in rev.by_class.items():
                series = monitoring_v3.TimeSeries(
                    metric={"type": metric.group(1), "labels": {"response_code_class": code_class}},
                    resource={"type": "cloud_run_revision", "labels": {"revision_name": match.group(1)}},
                    metric_kind=metric_pb2.MetricDescriptor.DELTA,
                    value_type=metric_pb2.MetricDescriptor.INT64,
                    points=[{"interval": {"end_time": end}, "value": {"int64_value": count}}],
                )
                out.time_series.append(series)
        else:
            dist = distribution_pb2.Distribution(
                count=sum(rev.latency_counts),
                bucket_options=distribution_pb2.Distribution.BucketOptions(
                    exponential_buckets=distribution_pb2.Distribution.BucketOptions.Exponential(
                        num_finite_buckets=rev.finite, growth_factor=rev.growth, scale=rev.scale
                    )
                ),
                bucket_counts=rev.latency_counts,
            )
            series = monitoring_v3.TimeSeries(
                metric={"type": metric.group(1)},
                resource={"type": "cloud_run_revision", "labels": {"revision_name": match.group(1)}},
                points=[{"interval": {"end_time": end}, "value": {"distribution_value": dist}}],
            )
            out.time_series.append(series)
        return out


@contextmanager
def serve(fake: FakeMonitoring) -> Iterator[monitoring_v3.MetricServiceClient]:
    """Start the server on a free loopback port; yield an official client connected to it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.method_handlers_generic_handler(
        "google.monitoring.v3.MetricService",
        {
            "ListTimeSeries": grpc.unary_unary_rpc_method_handler(
                fake.list_time_series,
                request_deserializer=metric_service.ListTimeSeriesRequest.deserialize,
                response_serializer=metric_service.ListTimeSeriesResponse.serialize,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))
    finally:
        channel.close()
        server.stop(grace=None)
