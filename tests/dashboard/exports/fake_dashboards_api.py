"""A local gRPC server speaking Cloud Monitoring's DashboardsService (list, create, update) the way the API
behaves: it names and etags what it stores, refuses an update whose etag is stale (ABORTED) or that names no
existing dashboard (NOT_FOUND), and a dashboard without a display name or layout (INVALID_ARGUMENT)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud import monitoring_dashboard_v1
from google.cloud.monitoring_dashboard_v1.services.dashboards_service.transports.grpc import (
    DashboardsServiceGrpcTransport,
)
from google.cloud.monitoring_dashboard_v1.types import Dashboard, dashboards_service

SERVICE = "google.monitoring.dashboard.v1.DashboardsService"


@dataclass
class FakeDashboards:
    dashboards: dict[str, Dashboard] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def _check(self, dashboard: Dashboard, context: grpc.ServicerContext) -> None:
        if not dashboard.display_name or not dashboard.mosaic_layout.tiles:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a dashboard needs a displayName and a layout")

    def _store(self, dashboard: Dashboard) -> Dashboard:
        dashboard.etag = f"etag-{next(self.ids)}"
        self.dashboards[dashboard.name] = dashboard
        return dashboard

    def list(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("ListDashboards")
        found = [d for n, d in self.dashboards.items() if n.startswith(request.parent + "/")]
        return dashboards_service.ListDashboardsResponse(dashboards=found)

    def create(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("CreateDashboard")
        dashboard = request.dashboard
        self._check(dashboard, context)
        dashboard.name = f"{request.parent}/dashboards/{next(self.ids)}"
        return self._store(dashboard)

    def update(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("UpdateDashboard")
        dashboard = request.dashboard
        old = self.dashboards.get(dashboard.name)
        if old is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no dashboard {dashboard.name}")
        if dashboard.etag and dashboard.etag != old.etag:
            context.abort(grpc.StatusCode.ABORTED, "the dashboard changed since it was read (etag)")
        self._check(dashboard, context)
        return self._store(dashboard)


def _unary(fn: Any, req: Any, resp: Any) -> Any:
    return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=req.deserialize,
                                               response_serializer=resp.serialize)  # fmt: skip


@contextmanager
def serve(fake: FakeDashboards) -> Iterator[Any]:
    """Start the server on a free loopback port; yield the official client connected to it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handlers = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "ListDashboards": _unary(fake.list, dashboards_service.ListDashboardsRequest,
                                     dashboards_service.ListDashboardsResponse),
            "CreateDashboard": _unary(fake.create, dashboards_service.CreateDashboardRequest, Dashboard),
            "UpdateDashboard": _unary(fake.update, dashboards_service.UpdateDashboardRequest, Dashboard),
        },
    )  # fmt: skip
    server.add_generic_rpc_handlers((handlers,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield monitoring_dashboard_v1.DashboardsServiceClient(
            transport=DashboardsServiceGrpcTransport(channel=channel)
        )
    finally:
        channel.close()
        server.stop(grace=None)
