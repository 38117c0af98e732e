"""The Cloud Run Admin API v2 as the emulator implements it: services, revisions and long-running operations.

Cloud Run's semantics, over the official ``run_v2`` messages: a template change makes a new revision (named
``<service>-<NNNNN>-<id>`` unless the template names it, and then it must start with the service name);
traffic percentages must add up to 100, tags must be unique and every revision named must exist; LATEST
follows the newest ready revision; an update whose etag is not the service's current one is ABORTED (409).
The update's operation finishes once the new revision is ready (or fails with its reason); the traffic
status (``traffic_statuses``, what routes) changes only then. Processes and routing are the Runtime's.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from google.cloud import run_v2
from google.longrunning import operations_pb2

from keel.platforms.base import RevisionState

log = logging.getLogger("keel.emulators.cloudrun")
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
SUCCEEDED = run_v2.Condition.State.CONDITION_SUCCEEDED
FAILED = run_v2.Condition.State.CONDITION_FAILED
PENDING = run_v2.Condition.State.CONDITION_PENDING
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_TAG = re.compile(r"^[a-z]([a-z0-9-]{0,44}[a-z0-9])?$")


class ApiError(Exception):
    """An error answer: HTTP code, Google's status name, message."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


GRPC_CODES = {"INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "FAILED_PRECONDITION": 9,
              "ABORTED": 10, "DEADLINE_EXCEEDED": 4, "INTERNAL": 13}  # fmt: skip


class Runtime(Protocol):
    """Where revisions run and how traffic reaches them (local processes behind keel's router)."""

    async def start(self, service: str, revision: run_v2.Revision) -> None: ...

    async def ready(self, revision: str) -> tuple[RevisionState, str]: ...

    async def stop(self, revision: str) -> None: ...

    async def route(
        self, service: str, weights: Mapping[str, int], tags: Mapping[str, str]
    ) -> dict[str, str]:
        """Route the service URL by ``weights`` and each tag to its revision; returns each tag's URL."""
        ...

    def service_url(self, service: str) -> str: ...


@dataclass
class Entry:
    """One service: its resource (spec and status), counters, and the revisions it has made."""

    service: run_v2.Service
    sequence: int = 0
    etag_counter: int = 0
    revisions: dict[str, run_v2.Revision] = field(default_factory=dict)  # short name -> revision

    def bump(self) -> None:
        self.etag_counter += 1
        self.service.etag = f'"{self.service.generation}-{self.etag_counter}"'


@dataclass
class Operation:
    name: str
    done: bool = False
    error: ApiError | None = None
    response: Any = None
    waiter: asyncio.Task[None] | None = None

    def to_pb(self) -> operations_pb2.Operation:
        op = operations_pb2.Operation(name=self.name, done=self.done)
        if self.error is not None:
            op.error.code = GRPC_CODES.get(self.error.status, 2)
            op.error.message = self.error.message
        elif self.done and self.response is not None:
            op.response.Pack(type(self.response).pb(self.response))
        return op


def _now() -> datetime:
    return datetime.now(UTC)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


class CloudRunApi:
    """Services of any project and region, held in memory; the HTTP server maps requests onto these methods."""

    def __init__(self, runtime: Runtime, *, ready_timeout: float = 120.0) -> None:
        self.runtime = runtime
        self.ready_timeout = ready_timeout
        self.services: dict[str, Entry] = {}  # full service name -> entry
        self.operations: dict[str, Operation] = {}
        self._ids = itertools.count(1)
        # (epoch seconds, service, event, detail): updates received and splits put in effect, for benchmarks
        # and for users rehearsing a release (how long from keel's request to the routers' switch).
        self.events: list[tuple[float, str, str, dict[str, int]]] = []

    # -- services --------------------------------------------------------------------------------------------
    def entry(self, name: str) -> Entry:
        entry = self.services.get(name)
        if entry is None:
            raise ApiError(404, "NOT_FOUND", f"Resource '{_short(name)}' of kind 'SERVICE' in region "
                           f"'{name.split('/')[3]}' in project '{name.split('/')[1]}' does not exist.")  # fmt: skip
        return entry

    def get_service(self, name: str) -> run_v2.Service:
        return self.entry(name).service

    def list_services(self, parent: str) -> list[run_v2.Service]:
        return [e.service for n, e in sorted(self.services.items()) if n.startswith(parent + "/services/")]

    async def create_service(self, parent: str, service_id: str, body: run_v2.Service) -> Operation:
        if not _NAME.match(service_id) or len(service_id) > 49:
            raise ApiError(400, "INVALID_ARGUMENT", f"service_id {service_id!r} is not a valid service name")
        name = f"{parent}/services/{service_id}"
        if name in self.services:
            raise ApiError(409, "ALREADY_EXISTS", f"Resource '{service_id}' already exists.")
        service = run_v2.Service(body)
        service.name = name
        service.uid = secrets.token_hex(8)
        service.generation = 0
        service.create_time = _now()
        if not service.traffic:
            service.traffic = [run_v2.TrafficTarget(type_=LATEST, percent=100)]
        entry = Entry(service)
        self._check_template(entry, service.template)
        self.services[name] = entry
        return await self._apply(entry, service.template, list(service.traffic), new_template=True)

    async def update_service(
        self, body: run_v2.Service, mask: tuple[str, ...], allow_missing: bool
    ) -> Operation:
        self.events.append((time.time(), _short(body.name), "update:" + ",".join(mask or ("*",)), {}))
        entry = self.services.get(body.name)
        if entry is None:
            if allow_missing:
                parent, _, service_id = body.name.rpartition("/services/")
                return await self.create_service(parent, service_id, body)
            self.entry(body.name)  # raises NOT_FOUND
        assert entry is not None
        if body.etag and body.etag != entry.service.etag:
            raise ApiError(409, "ABORTED", f"The etag {body.etag} does not match the service's current etag "
                           f"{entry.service.etag}: the service was changed concurrently; read it again.")  # fmt: skip
        fields = set(mask) if mask else {"template", "traffic", "labels", "annotations", "scaling", "ingress"}
        unknown = fields - {"template", "traffic", "labels", "annotations", "scaling", "ingress",
                            "description", "client", "client_version"}  # fmt: skip
        if unknown:
            raise ApiError(400, "INVALID_ARGUMENT", f"update_mask: unsupported field(s) {sorted(unknown)}")
        template = body.template if "template" in fields else entry.service.template
        traffic = list(body.traffic) if "traffic" in fields else list(entry.service.traffic)
        if "traffic" in fields and not traffic:
            traffic = [run_v2.TrafficTarget(type_=LATEST, percent=100)]
        changed = "template" in fields and run_v2.RevisionTemplate.pb(template) != run_v2.RevisionTemplate.pb(
            entry.service.template
        )
        if changed:
            self._check_template(entry, template)
        for key in ("labels", "annotations"):
            if key in fields:
                setattr(entry.service, key, dict(getattr(body, key)))
        return await self._apply(entry, template, traffic, new_template=changed)

    def _check_template(self, entry: Entry, template: run_v2.RevisionTemplate) -> None:
        service_id = _short(entry.service.name)
        if not template.containers or not template.containers[0].image:
            raise ApiError(
                400, "INVALID_ARGUMENT", "spec.template.containers[0].image: a container image is required"
            )
        if template.revision:
            if not template.revision.startswith(service_id + "-"):
                raise ApiError(400, "INVALID_ARGUMENT", f"template.revision {template.revision!r} must start with "
                               f"the service name followed by a dash ({service_id}-)")  # fmt: skip
            if not _NAME.match(template.revision):
                raise ApiError(
                    400, "INVALID_ARGUMENT", f"template.revision {template.revision!r} is not valid"
                )
            if template.revision in entry.revisions:
                raise ApiError(409, "ALREADY_EXISTS", f"Revision named '{template.revision}' already exists.")

    def _check_traffic(self, entry: Entry, traffic: list[run_v2.TrafficTarget], creating: str | None) -> None:
        total = sum(t.percent for t in traffic)
        if total != 100:
            raise ApiError(400, "INVALID_ARGUMENT", f"spec.traffic: percentages add up to {total}, not 100")
        tags = [t.tag for t in traffic if t.tag]
        for tag in tags:
            if not _TAG.match(tag):
                raise ApiError(400, "INVALID_ARGUMENT", f"spec.traffic: tag {tag!r} is not a valid DNS label")
        duplicates = sorted({t for t in tags if tags.count(t) > 1})
        if duplicates:
            raise ApiError(400, "INVALID_ARGUMENT", f"spec.traffic: tag(s) {duplicates} used more than once")
        for target in traffic:
            if target.percent < 0:
                raise ApiError(400, "INVALID_ARGUMENT", "spec.traffic: percentages must not be negative")
            if target.type_ == LATEST:
                continue
            if not target.revision:
                raise ApiError(
                    400, "INVALID_ARGUMENT", "spec.traffic: a REVISION target needs a revision name"
                )
            if target.revision not in entry.revisions and target.revision != creating:
                raise ApiError(400, "INVALID_ARGUMENT", f"spec.traffic: Revision '{target.revision}' referenced "
                               "in traffic not found.")  # fmt: skip

    async def _apply(
        self, entry: Entry, template: run_v2.RevisionTemplate, traffic: list[run_v2.TrafficTarget], *,
        new_template: bool,
    ) -> Operation:  # fmt: skip
        service = entry.service
        creating: str | None = None
        if new_template:
            entry.sequence += 1
            creating = (
                template.revision or f"{_short(service.name)}-{entry.sequence:05d}-{secrets.token_hex(2)[:3]}"
            )
        self._check_traffic(entry, [run_v2.TrafficTarget(t) for t in traffic], creating)
        service.generation += 1
        service.update_time = _now()
        service.template = template
        service.traffic = traffic
        service.reconciling = True
        entry.bump()
        operation = Operation(
            f"{service.name.split('/services/')[0]}/operations/{next(self._ids):08d}-{secrets.token_hex(4)}"
        )
        self.operations[operation.name] = operation
        revision = None
        if creating is not None:
            revision = self._new_revision(entry, creating, template)
            await self.runtime.start(_short(service.name), revision)
            service.latest_created_revision = revision.name
        operation.waiter = asyncio.get_running_loop().create_task(self._reconcile(entry, operation, creating))
        await asyncio.sleep(0)  # a traffic-only change is often done before the answer
        await asyncio.sleep(0)
        return operation

    def _new_revision(self, entry: Entry, name: str, template: run_v2.RevisionTemplate) -> run_v2.Revision:
        service = entry.service
        revision = run_v2.Revision(
            name=f"{service.name}/revisions/{name}",
            uid=secrets.token_hex(8),
            generation=1,
            labels=dict(template.labels),
            annotations=dict(template.annotations),
            create_time=_now(),
            update_time=_now(),
            service=_short(service.name),
            scaling=template.scaling,
            max_instance_request_concurrency=template.max_instance_request_concurrency or 80,
            timeout=template.timeout,
            service_account=template.service_account,
            containers=list(template.containers),
            reconciling=True,
            conditions=[
                run_v2.Condition(type_="Ready", state=PENDING, message="Deploying revision."),
                run_v2.Condition(type_="ContainerHealthy", state=PENDING),
            ],
            etag=f'"{secrets.token_hex(4)}"',
        )
        entry.revisions[name] = revision
        return revision

    async def _reconcile(self, entry: Entry, operation: Operation, creating: str | None) -> None:
        """Wait for the new revision (if any) and every revision given traffic to be ready, then route."""
        service = entry.service
        try:
            if creating is not None:
                await self._await_ready(entry, creating)
            weights: dict[str, int] = {}
            for target in service.traffic:
                if target.percent > 0:
                    revision = (
                        target.revision if target.type_ != LATEST else _short(service.latest_ready_revision)
                    )
                    if not revision:
                        raise ApiError(409, "FAILED_PRECONDITION", "LATEST has no ready revision to route to")
                    rev = entry.revisions.get(revision)
                    if rev is None or _state(rev) is RevisionState.FAILED:
                        raise ApiError(
                            409,
                            "FAILED_PRECONDITION",
                            f"Revision '{revision}' is not ready and cannot serve traffic.",
                        )
                    weights[revision] = weights.get(revision, 0) + int(target.percent)
            tags = {
                t.tag: (t.revision if t.type_ != LATEST else _short(service.latest_ready_revision))
                for t in service.traffic if t.tag
            }  # fmt: skip
            urls = await self.runtime.route(_short(service.name), weights, tags)
            self.events.append((time.time(), _short(service.name), "routed", dict(weights)))
            service.traffic_statuses = [
                run_v2.TrafficTargetStatus(
                    type_=t.type_,
                    revision=t.revision,
                    percent=t.percent,
                    tag=t.tag,
                    uri=urls.get(t.tag, "") if t.tag else "",
                )
                for t in service.traffic
            ]
            service.uri = self.runtime.service_url(_short(service.name))
            service.urls = [service.uri]
            service.observed_generation = service.generation
            service.terminal_condition = run_v2.Condition(
                type_="Ready", state=SUCCEEDED, last_transition_time=_now()
            )
            service.conditions = [
                run_v2.Condition(type_="RoutesReady", state=SUCCEEDED),
                run_v2.Condition(type_="ConfigurationsReady", state=SUCCEEDED),
            ]
            service.reconciling = False
            entry.bump()
            operation.response = run_v2.Service(service)  # with the etag a caller may update with next
        except ApiError as exc:
            operation.error = exc
            service.observed_generation = service.generation
            service.terminal_condition = run_v2.Condition(type_="Ready", state=FAILED, message=exc.message)
            service.reconciling = False
            entry.bump()
        except Exception as exc:  # a fault of the emulator itself: the operation must still end
            log.exception("reconciling %s failed", service.name)
            operation.error = ApiError(500, "INTERNAL", f"emulator error: {exc.__class__.__name__}: {exc}")
            service.reconciling = False
        finally:
            operation.done = True

    async def _await_ready(self, entry: Entry, name: str) -> None:
        revision = entry.revisions[name]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        while True:
            state, detail = await self.runtime.ready(name)
            if state is RevisionState.RUNNING:
                revision.conditions = [
                    run_v2.Condition(type_="Ready", state=SUCCEEDED, last_transition_time=_now()),
                    run_v2.Condition(type_="ContainerHealthy", state=SUCCEEDED),
                ]
                revision.reconciling = False
                revision.observed_generation = 1
                entry.service.latest_ready_revision = revision.name
                return
            if state is RevisionState.FAILED or loop.time() > deadline:
                detail = (
                    detail if state is RevisionState.FAILED else f"not ready within {self.ready_timeout:g}s"
                )
                message = f"Revision '{name}' is not ready and cannot serve traffic. {detail}"
                revision.conditions = [
                    run_v2.Condition(
                        type_="Ready", state=FAILED, message=message, last_transition_time=_now(),
                        revision_reason=run_v2.Condition.RevisionReason.HEALTH_CHECK_CONTAINER_ERROR,
                    ),
                    run_v2.Condition(type_="ContainerHealthy", state=FAILED, message=detail),
                ]  # fmt: skip
                revision.reconciling = False
                await self.runtime.stop(name)
                raise ApiError(409, "FAILED_PRECONDITION", message)
            await asyncio.sleep(0.05)

    # -- revisions -------------------------------------------------------------------------------------------
    def _revision(self, name: str) -> tuple[Entry, run_v2.Revision]:
        service_name, _, short = name.partition("/revisions/")
        entry = self.entry(service_name)
        revision = entry.revisions.get(short)
        if revision is None:
            raise ApiError(404, "NOT_FOUND", f"Resource '{short}' of kind 'REVISION' does not exist.")
        return entry, revision

    def get_revision(self, name: str) -> run_v2.Revision:
        return self._revision(name)[1]

    def list_revisions(self, parent: str) -> list[run_v2.Revision]:
        entry = self.entry(parent)
        return sorted(entry.revisions.values(), key=lambda r: r.create_time, reverse=True)

    async def delete_revision(self, name: str, etag: str = "") -> Operation:
        entry, revision = self._revision(name)
        short = _short(name)
        if etag and etag != revision.etag:
            raise ApiError(409, "ABORTED", f"etag {etag} does not match revision {short}'s")
        referenced = [t for t in entry.service.traffic if t.revision == short]
        referenced += [t for t in entry.service.traffic_statuses if t.revision == short and t.percent > 0]
        if referenced:
            raise ApiError(400, "FAILED_PRECONDITION", f"Revision '{short}' is referenced by a traffic target "
                           "of its service; remove it from the traffic first.")  # fmt: skip
        await self.runtime.stop(short)
        del entry.revisions[short]
        revision.delete_time = _now()
        operation = Operation(f"{entry.service.name.split('/services/')[0]}/operations/{next(self._ids):08d}-del",
                              done=True, response=revision)  # fmt: skip
        self.operations[operation.name] = operation
        return operation

    # -- operations ------------------------------------------------------------------------------------------
    def get_operation(self, name: str) -> Operation:
        operation = self.operations.get(name)
        if operation is None:
            raise ApiError(404, "NOT_FOUND", f"Operation '{_short(name)}' does not exist.")
        return operation

    async def wait_operation(self, name: str, timeout: float) -> Operation:  # noqa: ASYNC109 - the API's own field
        operation = self.get_operation(name)
        if operation.waiter is not None and not operation.done:
            await asyncio.wait({operation.waiter}, timeout=timeout)
        return operation

    async def close(self) -> None:
        for operation in self.operations.values():
            if operation.waiter is not None:
                operation.waiter.cancel()


def _state(revision: run_v2.Revision) -> RevisionState:
    ready = next((c for c in revision.conditions if c.type_ == "Ready"), None)
    if ready is None or ready.state == PENDING:
        return RevisionState.STARTING
    return RevisionState.RUNNING if ready.state == SUCCEEDED else RevisionState.FAILED
