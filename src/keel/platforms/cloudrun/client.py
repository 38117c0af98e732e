"""CloudRunPlatform: the Platform protocol on the Cloud Run Admin API v2 through the official client.

The client (``google-cloud-run``, REST transport) is blocking: every call runs in a worker thread. Updates
are read-modify-write guarded by the service's etag; a 409 (someone else changed the service), 429 or 503
re-reads and retries with exponential backoff. Every API error becomes a PlatformError that names the
service, the call and Google's reason.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from keel.errors import ConfigError
from keel.platforms.base import PlatformError, Revision, RevisionSpec, RevisionState, TrafficSplit
from keel.platforms.cloudrun.config import EMULATOR_HOST_ENV, CloudRunConfig, is_loopback, split_endpoint
from keel.platforms.config import PlatformConfig, PlatformContext
from keel.probing import Probes

if TYPE_CHECKING:
    from keel.platforms.cloudrun.template import Names

log = logging.getLogger("keel.platforms.cloudrun")
T = TypeVar("T")

#: HTTP statuses worth retrying: rate limited, unavailable, and the etag conflict of a concurrent update.
RETRIED = (409, 429, 503)


class CloudRunError(PlatformError):
    """A Cloud Run Admin API call failed; the message names the service, the call and Google's reason."""


class CloudRunPlatform:
    """One Cloud Run service. ``services``/``revisions`` are ``run_v2.ServicesClient``/``RevisionsClient``
    (tests pass clients on a local endpoint); by default they are made from ``api_endpoint`` or
    ``CLOUD_RUN_EMULATOR_HOST`` (anonymous, loopback only) or else Google's endpoint with Application Default
    Credentials."""

    Config: ClassVar[type[PlatformConfig]] = CloudRunConfig

    @classmethod
    def from_config(cls, config: PlatformConfig, context: PlatformContext) -> CloudRunPlatform:
        assert isinstance(config, CloudRunConfig)
        from keel.platforms.cloudrun.template import probe_problems

        problems = probe_problems(context.probes)
        if problems:
            raise ConfigError(f"environment {context.environment!r} (cloudrun): " + "; ".join(problems))
        return cls(config, keel_service=context.service, probes=context.probes)

    def __init__(
        self,
        config: CloudRunConfig,
        *,
        keel_service: str | None = None,
        probes: Probes | None = None,
        services: Any = None,
        revisions: Any = None,
        sleeper: Callable[[float], None] = time.sleep,
        backoff: float = 0.5,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.keel_service = keel_service or config.service
        self.probes = probes or Probes()
        self._services = services
        self._revisions = revisions
        self._sleep = sleeper
        self._backoff = backoff
        self._environ = os.environ if environ is None else environ

    # -- naming ----------------------------------------------------------------------------------------------
    @property
    def where(self) -> str:
        return f"Cloud Run service {self.config.service} ({self.config.project}/{self.config.region})"

    @property
    def parent(self) -> str:
        return f"projects/{self.config.project}/locations/{self.config.region}"

    @property
    def service_path(self) -> str:
        return f"{self.parent}/services/{self.config.service}"

    def _names(self) -> Names:
        from keel.platforms.cloudrun.template import Names

        return Names(self.keel_service, self.config.service)

    def endpoint(self) -> tuple[str | None, bool]:
        """(api endpoint URL or None for Google's, whether it is an emulator reached anonymously)."""
        emulator = self._environ.get(EMULATOR_HOST_ENV, "").strip()
        endpoint = self.config.api_endpoint or emulator or None
        if endpoint is None:
            return None, False
        scheme, host = split_endpoint(endpoint)
        loopback = is_loopback(host.rsplit(":", 1)[0] if not host.endswith("]") else host)
        if emulator and not self.config.api_endpoint and not loopback:
            raise ConfigError(
                f"{EMULATOR_HOST_ENV}={emulator}: an emulator is reached without credentials, so only on a "
                "loopback address (127.0.0.1, ::1, localhost)"
            )
        if scheme == "http" and not loopback:
            raise ConfigError(
                f"{self.where}: api_endpoint {endpoint!r}: plain http only to a loopback address"
            )
        return f"{scheme}://{host}", loopback

    # -- clients ---------------------------------------------------------------------------------------------
    def _clients(self) -> tuple[Any, Any]:
        if self._services is None or self._revisions is None:
            from google.cloud import run_v2

            url, anonymous = self.endpoint()
            kwargs: dict[str, Any] = {"transport": "rest"}
            if url is not None:
                kwargs["client_options"] = {"api_endpoint": url}
            if anonymous:
                from google.auth.credentials import AnonymousCredentials

                kwargs["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
            try:
                self._services = self._services or run_v2.ServicesClient(**kwargs)
                self._revisions = self._revisions or run_v2.RevisionsClient(**kwargs)
            except Exception as exc:  # google.auth DefaultCredentialsError and friends
                raise CloudRunError(
                    f"{self.where}: cannot create an Admin API client ({exc.__class__.__name__}: {exc}); "
                    "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
                ) from exc
        return self._services, self._revisions

    # -- calls with retries and translated errors ------------------------------------------------------------
    def _error(self, call: str, exc: BaseException) -> CloudRunError:
        from google.api_core import exceptions as gexc

        if isinstance(exc, gexc.GoogleAPICallError):
            status = getattr(exc, "grpc_status_code", None)
            kind = status.name if status is not None else exc.__class__.__name__
            reason = f" [{exc.reason}]" if getattr(exc, "reason", None) else ""
            code = f"HTTP {exc.code} " if exc.code else ""
            return CloudRunError(f"{self.where}: {call}: {code}{kind}{reason}: {exc.message}")
        if isinstance(exc, gexc.RetryError):
            return CloudRunError(f"{self.where}: {call}: gave up retrying: {exc.message}")
        return CloudRunError(f"{self.where}: {call}: {exc.__class__.__name__}: {exc}")

    def _retrying(self, call: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (which re-reads what it needs), retrying 409/429/503 with jittered backoff."""
        from google.api_core import exceptions as gexc

        delay = self._backoff
        for tries in range(self.config.retries + 1):
            try:
                return attempt()
            except gexc.GoogleAPICallError as exc:
                if exc.code not in RETRIED or tries == self.config.retries:
                    raise self._error(call, exc) from exc
                log.warning("%s: %s: HTTP %s, retrying in %.1fs", self.where, call, exc.code, delay)
            except CloudRunError:
                raise
            except Exception as exc:  # transport errors (connection refused, timeouts)
                raise self._error(call, exc) from exc
            self._sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def _get_service(self) -> Any:
        from google.api_core import exceptions as gexc

        services, _ = self._clients()
        try:
            return services.get_service(name=self.service_path, retry=None, timeout=self.config.call_timeout)
        except gexc.NotFound:
            return None

    def _wait(self, call: str, operation: Any) -> Any:
        from concurrent.futures import TimeoutError as FutureTimeout

        try:
            return operation.result(timeout=self.config.operation_timeout)
        except FutureTimeout as exc:
            raise CloudRunError(
                f"{self.where}: {call}: the operation did not finish within {self.config.operation_timeout:g}s"
            ) from exc

    # -- the Platform protocol (each method one worker thread) -----------------------------------------------
    async def deploy(self, spec: RevisionSpec) -> Revision:
        return await asyncio.to_thread(self._deploy, spec)

    async def set_traffic(self, weights: Mapping[str, int]) -> TrafficSplit:
        try:
            wanted = TrafficSplit({n: w for n, w in weights.items() if w > 0})
        except ValueError as exc:
            raise CloudRunError(f"{self.where}: set traffic: {exc}") from None
        if not wanted.weights:
            raise CloudRunError(f"{self.where}: set traffic: the weights are empty")
        return await asyncio.to_thread(self._set_traffic, dict(wanted.weights))

    async def traffic(self) -> TrafficSplit:
        return await asyncio.to_thread(self._traffic)

    async def revisions(self) -> list[Revision]:
        return await asyncio.to_thread(self._list_revisions)

    async def remove(self, name: str) -> None:
        await asyncio.to_thread(self._remove, name)

    # -- implementations -------------------------------------------------------------------------------------
    def _deploy(self, spec: RevisionSpec) -> Revision:
        from google.api_core import exceptions as gexc
        from google.cloud import run_v2

        from keel.platforms.cloudrun import template as tpl

        names = self._names()
        cloud_name = names.to_cloud(spec.name)
        problem = names.check(cloud_name)
        if problem:
            raise CloudRunError(f"{self.where}: deploy: {problem}")
        image = spec.image or self.config.image
        if not image:
            raise CloudRunError(f"{self.where}: deploy: no image (set `image` in keel.yaml or pass --image)")
        clash = sorted(
            name
            for name in set(spec.env) & set(self.config.secrets)
            if tpl.pinned_reference(spec.env[name]) is None  # a pinned version: allowed
        )
        if clash:
            raise CloudRunError(
                f"{self.where}: deploy: {', '.join(clash)}: set for this revision but keel.yaml takes it from "
                "Secret Manager (secrets); change the secret's version instead"
            )
        tag = names.tag(cloud_name)
        services, _ = self._clients()

        def attempt() -> Any:
            service = self._get_service()
            current = service.template if service is not None else None
            new_template = tpl.template(self.config, self.probes, cloud_name, image, spec.env, current)
            if service is None:
                body = run_v2.Service(
                    template=new_template,
                    traffic=[
                        run_v2.TrafficTarget(type_=tpl.REVISION, revision=cloud_name, percent=100, tag=tag)
                    ],
                )
                return services.create_service(
                    parent=self.parent, service=body, service_id=self.config.service,
                    retry=None, timeout=self.config.call_timeout,
                )  # fmt: skip
            if tpl.latest_share(service.traffic) > 0:
                raise CloudRunError(f"{self.where}: deploy refused: {tpl.pinned_to_latest(service, names)}")
            if any(t.tag == tag and t.revision == cloud_name for t in service.traffic):
                return None  # a retried update whose first answer was lost: it went through already
            if any(t.tag == tag for t in service.traffic):
                raise CloudRunError(f"{self.where}: deploy: tag {tag} is already in use")
            kept = tpl.current_explicit(service, names)
            note = tpl.pinned_elsewhere(service, names)
            if note:
                log.warning("%s: %s", self.where, note)
            traffic = tpl.targets(service.traffic, kept, names)
            # Serving revisions made outside keel get a tag too: a rollback is verified on the target's own URL.
            used = {t.tag for t in traffic if t.tag}
            for target in traffic:
                if (
                    target.revision
                    and target.percent > 0
                    and not target.tag
                    and names.tag(target.revision) not in used
                ):
                    target.tag = names.tag(target.revision)
                    used.add(target.tag)
            traffic.append(run_v2.TrafficTarget(type_=tpl.REVISION, revision=cloud_name, percent=0, tag=tag))
            return services.update_service(
                service=_replaced(service, template=new_template, traffic=traffic),
                retry=None,
                timeout=self.config.call_timeout,
            )

        operation = self._retrying("deploy (update service)", attempt)
        try:
            if operation is not None:
                self._wait(f"deploy revision {cloud_name}", operation)
        except gexc.GoogleAPICallError as exc:
            # The operation failed. A revision that exists failed to start: return it FAILED with Cloud Run's
            # reason (its Ready condition), so the health gate fails at once and says why.
            failed = self._find(spec.name)
            if failed is None or failed.state is RevisionState.RUNNING:
                raise self._error(f"deploy revision {cloud_name}", exc) from exc
            detail = failed.detail if failed.state is RevisionState.FAILED else (exc.message or str(exc))
            return Revision(failed.name, failed.url, failed.created, RevisionState.FAILED, detail)
        found = self._find(spec.name)
        if found is None:
            raise CloudRunError(f"{self.where}: deploy: revision {cloud_name} is not listed after the update")
        return found

    def _find(self, name: str) -> Revision | None:
        return next((r for r in self._list_revisions() if r.name == name), None)

    def _set_traffic(self, weights: dict[str, int]) -> TrafficSplit:
        from keel.platforms.cloudrun import template as tpl

        names = self._names()
        services, _ = self._clients()

        def attempt() -> Any:
            service = self._require_service()
            if tpl.latest_share(service.traffic) > 0:
                # keel's own weights replace LATEST here on purpose (a rollback must go through); say so.
                log.warning(
                    "%s: %s; replaced by explicit percentages",
                    self.where,
                    tpl.pinned_to_latest(service, names),
                )
            traffic = tpl.targets(service.traffic, weights, names)
            return services.update_service(
                service=_replaced(service, traffic=traffic), retry=None, timeout=self.config.call_timeout
            )

        result = self._wait("set traffic", self._retrying("set traffic (update service)", attempt))
        if result is None or not result.traffic_statuses:
            return self._traffic()
        return TrafficSplit(tpl.split(result.traffic_statuses, result.latest_ready_revision, names))

    def _require_service(self) -> Any:
        service = self._get_service()
        if service is None:
            raise CloudRunError(f"{self.where}: the service does not exist (deploy a first revision)")
        return service

    def _traffic(self) -> TrafficSplit:
        from keel.platforms.cloudrun import template as tpl

        service = self._retrying("get service", self._get_service)
        if service is None:
            return TrafficSplit({})
        weights = tpl.split(service.traffic_statuses, service.latest_ready_revision, self._names())
        try:
            return TrafficSplit(weights)
        except ValueError as exc:
            raise CloudRunError(f"{self.where}: traffic_statuses: {exc} (still reconciling?)") from None

    def _list_revisions(self) -> list[Revision]:
        from keel.platforms.cloudrun import template as tpl

        names = self._names()
        _, revisions = self._clients()
        service = self._retrying("get service", self._get_service)
        if service is None:
            return []
        urls = tpl.tag_urls(service.traffic_statuses, names)

        def listing() -> list[Any]:
            return list(
                revisions.list_revisions(
                    parent=self.service_path, retry=None, timeout=self.config.call_timeout
                )
            )

        out: list[Revision] = []
        for item in self._retrying("list revisions", listing):
            name = names.from_cloud(item.name)
            state, detail = tpl.state(item)
            created = item.create_time.timestamp() if item.create_time else 0.0
            out.append(Revision(name, urls.get(name, ""), created, state, detail))
        return sorted(out, key=lambda r: (r.created, r.name))

    def _remove(self, name: str) -> None:
        from google.api_core import exceptions as gexc

        from keel.platforms.cloudrun import template as tpl

        names = self._names()
        cloud_name = names.to_cloud(name)
        services, revisions = self._clients()
        service = self._retrying("get service", self._get_service)
        if service is None:
            return
        in_effect = tpl.split(service.traffic_statuses, service.latest_ready_revision, names)
        if in_effect.get(name, 0) > 0 or tpl.current_explicit(service, names).get(name, 0) > 0:
            raise CloudRunError(f"{self.where}: remove {cloud_name}: it still has traffic")
        if any(t.revision == cloud_name and t.tag for t in service.traffic):

            def untag() -> Any:
                fresh = self._require_service()
                kept = tpl.current_explicit(fresh, names)
                traffic = tpl.targets(fresh.traffic, kept, names, drop_tags_of=cloud_name)
                return services.update_service(
                    service=_replaced(fresh, traffic=traffic), retry=None, timeout=self.config.call_timeout
                )

            self._wait(f"remove tag of {cloud_name}", self._retrying("remove tag (update service)", untag))

        def delete() -> Any:
            return revisions.delete_revision(
                name=f"{self.service_path}/revisions/{cloud_name}",
                retry=None,
                timeout=self.config.call_timeout,
            )

        try:
            operation = self._retrying(f"delete revision {cloud_name}", delete)
        except CloudRunError as exc:
            if isinstance(exc.__cause__, gexc.NotFound):
                return
            raise
        try:
            self._wait(f"delete revision {cloud_name}", operation)
        except gexc.GoogleAPICallError as exc:
            raise self._error(f"delete revision {cloud_name}", exc) from exc


def _replaced(service: Any, **fields: Any) -> Any:
    """The service as read (etag included) with ``fields`` replaced: the whole resource is sent back, so an
    update never clears what keel did not set (labels, ingress, scaling...), whether or not the API applies
    an update mask. Output-only fields sent along are ignored by the API."""
    from google.cloud import run_v2

    body = run_v2.Service(service)
    for name, value in fields.items():
        setattr(body, name, value)
    return body
