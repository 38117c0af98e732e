"""A local gRPC server speaking Cloud Monitoring's AlertPolicyService and NotificationChannelService (list,
create, update), keeping what it was given, refusing what the API refuses (no conditions, unknown name)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.alert_policy_service.transports.grpc import (
    AlertPolicyServiceGrpcTransport,
)
from google.cloud.monitoring_v3.services.notification_channel_service.transports.grpc import (
    NotificationChannelServiceGrpcTransport,
)
from google.cloud.monitoring_v3.types import alert_service, notification_service


@dataclass
class FakeAlerting:
    policies: dict[str, monitoring_v3.AlertPolicy] = field(default_factory=dict)
    channels: dict[str, monitoring_v3.NotificationChannel] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def list_policies(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("ListAlertPolicies")
        found = [p for n, p in self.policies.items() if n.startswith(request.name + "/")]
        return alert_service.ListAlertPoliciesResponse(alert_policies=found)

    def _check_policy(self, policy: Any, context: grpc.ServicerContext) -> None:
        if not policy.display_name or not policy.conditions or not policy.combiner:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "policy needs displayName, conditions, combiner")
        for cond in policy.conditions:
            if not cond.condition_prometheus_query_language.query:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "condition without a PromQL query")
        for channel in policy.notification_channels:
            if channel not in self.channels:
                context.abort(grpc.StatusCode.NOT_FOUND, f"unknown notification channel {channel}")

    def create_policy(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("CreateAlertPolicy")
        policy = request.alert_policy
        self._check_policy(policy, context)
        policy.name = f"{request.name}/alertPolicies/{next(self.ids)}"
        self.policies[policy.name] = policy
        return policy

    def update_policy(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("UpdateAlertPolicy")
        policy = request.alert_policy
        if policy.name not in self.policies:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no policy {policy.name}")
        self._check_policy(policy, context)
        self.policies[policy.name] = policy
        return policy

    def list_channels(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("ListNotificationChannels")
        found = [c for n, c in self.channels.items() if n.startswith(request.name + "/")]
        return notification_service.ListNotificationChannelsResponse(notification_channels=found)

    def create_channel(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("CreateNotificationChannel")
        channel = request.notification_channel
        if not channel.type_:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "channel needs a type")
        channel.name = f"{request.name}/notificationChannels/{next(self.ids)}"
        self.channels[channel.name] = channel
        return channel

    def update_channel(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.calls.append("UpdateNotificationChannel")
        channel = request.notification_channel
        if channel.name not in self.channels:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no channel {channel.name}")
        old = self.channels[channel.name]
        for label, value in old.labels.items():  # a label left out keeps its value (like a masked update)
            channel.labels.setdefault(label, value)
        self.channels[channel.name] = channel
        return channel


def _unary(fn: Any, req: Any, resp: Any) -> Any:
    return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=req.deserialize,
                                               response_serializer=resp.serialize)  # fmt: skip


@contextmanager
def serve(fake: FakeAlerting) -> Iterator[tuple[Any, Any]]:
    """Start the server on a free loopback port; yield official clients (policies, channels) connected to it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    policies = grpc.method_handlers_generic_handler(
        "google.monitoring.v3.AlertPolicyService",
        {
            "ListAlertPolicies": _unary(fake.list_policies, alert_service.ListAlertPoliciesRequest,
                                        alert_service.ListAlertPoliciesResponse),
            "CreateAlertPolicy": _unary(fake.create_policy, alert_service.CreateAlertPolicyRequest,
                                        monitoring_v3.AlertPolicy),
            "UpdateAlertPolicy": _unary(fake.update_policy, alert_service.UpdateAlertPolicyRequest,
                                        monitoring_v3.AlertPolicy),
        },
    )  # fmt: skip
    channels = grpc.method_handlers_generic_handler(
        "google.monitoring.v3.NotificationChannelService",
        {
            "ListNotificationChannels": _unary(fake.list_channels,
                notification_service.ListNotificationChannelsRequest,
                notification_service.ListNotificationChannelsResponse),
            "CreateNotificationChannel": _unary(fake.create_channel,
                notification_service.CreateNotificationChannelRequest, monitoring_v3.NotificationChannel),
            "UpdateNotificationChannel": _unary(fake.update_channel,
                notification_service.UpdateNotificationChannelRequest, monitoring_v3.NotificationChannel),
        },
    )  # fmt: skip
    server.add_generic_rpc_handlers((policies, channels))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield (
            monitoring_v3.AlertPolicyServiceClient(
                transport=AlertPolicyServiceGrpcTransport(channel=channel)
            ),
            monitoring_v3.NotificationChannelServiceClient(
                transport=NotificationChannelServiceGrpcTransport(channel=channel)
            ),
        )
    finally:
        channel.close()
        server.stop(grace=None)
