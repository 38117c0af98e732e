"""Revisions of the emulated Cloud Run as local processes behind keel's router.

Each revision's image is looked up in the emulator's ``images`` mapping and its command run under keel's
supervisor (``PORT`` set, its own process group). A revision is ready once it listens and its start-up probe
answers 2xx (polled quickly rather than every ``period_seconds``, within the probe's whole budget). Each
service gets a router for its URL; each tag gets a router of its own (its own port), so a tag URL reaches one
revision whatever the split. All routers record into one RouterMetrics, the source of the emulated Cloud
Monitoring time series.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from google.cloud import run_v2

from keel.emulators.cloudrun.config import EmulatorConfig
from keel.platforms.base import RevisionState
from keel.platforms.local.daemon import free_port
from keel.platforms.local.metrics import RouterMetrics
from keel.platforms.local.router import Router
from keel.platforms.local.state import RevisionRecord
from keel.platforms.local.supervisor import SupervisedRevision
from keel.secrets.backends.gcp import EMULATOR_HOST_ENV as SECRET_MANAGER_HOST_ENV


class ProcessRuntime:
    def __init__(self, config: EmulatorConfig, state_dir: Path, metrics: RouterMetrics) -> None:
        self.config = config
        self.state_dir = state_dir
        self.metrics = metrics
        self.processes: dict[str, SupervisedRevision] = {}
        self.problems: dict[str, str] = {}  # revisions that could not even start: why
        self.probes: dict[str, run_v2.Probe] = {}
        self.started: dict[str, float] = {}
        self.routers: dict[str, Router] = {}
        self.ports: dict[str, int] = {}
        self.tag_routers: dict[tuple[str, str], tuple[Router, int]] = {}

    def _address(self, revision: str) -> tuple[str, int]:
        return ("127.0.0.1", self.processes[revision].record.port)

    async def _secret(self, project: str, ref: run_v2.SecretKeySelector) -> tuple[str | None, str]:
        """The referenced version's value, or None and why (Cloud Run's wording) when it cannot be read."""
        name = ref.secret.rsplit("/", 1)[-1]
        version = ref.version or "latest"
        for key in (f"{name}:{version}", name, ref.secret):
            if key in self.config.secrets:
                return self.config.secrets[key], ""
        path = ref.secret if ref.secret.startswith("projects/") else f"projects/{project}/secrets/{name}"
        missing = f"Secret {path}/versions/{version} was not found"
        host = self.config.secret_manager or os.environ.get(SECRET_MANAGER_HOST_ENV, "").strip()
        if not host:
            return None, missing
        url = (host if "://" in host else f"http://{host}").rstrip(
            "/"
        ) + f"/v1/{path}/versions/{version}:access"
        try:
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                answer = await client.get(url)
        except httpx.HTTPError as exc:
            return None, f"Secret {path}/versions/{version} could not be read ({exc.__class__.__name__})"
        if answer.status_code == 200:
            return base64.b64decode(answer.json()["payload"]["data"]).decode(), ""
        if answer.status_code == 404:
            return None, missing
        # Secret Manager's messages name the version and its state, never a payload
        message = str(answer.json().get("error", {}).get("message", f"HTTP {answer.status_code}"))
        return None, f"Secret {path}/versions/{version} cannot be accessed: {message}"

    async def start(self, service: str, revision: run_v2.Revision) -> None:
        name = revision.name.rsplit("/", 1)[-1]
        project = revision.name.split("/")[1] if revision.name.startswith("projects/") else ""
        container = revision.containers[0]
        command = self.config.images.get(container.image)
        if command is None:
            known = ", ".join(sorted(self.config.images)) or "none"
            self.problems[name] = (
                f"Image '{container.image}' not found (the emulator runs the images of its configuration: {known})."
            )
            return
        env: dict[str, str] = {}
        for index, var in enumerate(container.env):
            if var.value_source and var.value_source.secret_key_ref.secret:
                value, problem = await self._secret(project, var.value_source.secret_key_ref)
                if value is None:
                    self.problems[name] = (
                        f"spec.template.spec.containers[0].env[{index}].value_from.secret_key_ref ({var.name}): "
                        f"{problem}"
                    )
                    return
                env[var.name] = value
            else:
                env[var.name] = var.value
        env["K_SERVICE"] = service
        env["K_REVISION"] = name
        record = RevisionRecord(
            name=name, command=tuple(command), env=env, cwd=self.config.cwd or os.getcwd(),
            port=free_port(), created=time.time(),
        )  # fmt: skip
        process = SupervisedRevision(record, self.state_dir / "logs" / f"{name}.log", start_attempts=1)
        self.processes[name] = process
        self.probes[name] = container.startup_probe
        self.started[name] = time.monotonic()
        process.start()

    async def ready(self, revision: str) -> tuple[RevisionState, str]:
        problem = self.problems.get(revision)
        if problem is not None:
            return RevisionState.FAILED, problem
        process = self.processes.get(revision)
        if process is None:
            return RevisionState.FAILED, "no such revision"
        if process.state is RevisionState.FAILED:
            port = process.record.port
            return RevisionState.FAILED, (
                f"The user-provided container failed to start and listen on the port defined by the "
                f"PORT={port} environment variable ({process.detail})"
            )
        if process.state is not RevisionState.RUNNING:
            return RevisionState.STARTING, process.detail
        probe = self.probes.get(revision)
        if probe is None or not probe.http_get.path:
            return RevisionState.RUNNING, "listening"
        url = f"http://127.0.0.1:{process.record.port}{probe.http_get.path}"
        budget = probe.initial_delay_seconds + (probe.period_seconds or 10) * (probe.failure_threshold or 3)
        try:
            async with httpx.AsyncClient(timeout=probe.timeout_seconds or 1, trust_env=False) as client:
                response = await client.get(url)
            if 200 <= response.status_code < 300:
                return RevisionState.RUNNING, "startup probe passed"
            detail = f"startup probe {probe.http_get.path}: HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            detail = f"startup probe {probe.http_get.path}: {exc.__class__.__name__}"
        if time.monotonic() - self.started[revision] > budget:
            await self.stop(revision)
            return RevisionState.FAILED, f"Default STARTUP probe failed ({detail}) for {budget}s"
        await asyncio.sleep(self.config.probe_poll)
        return RevisionState.STARTING, detail

    async def stop(self, revision: str) -> None:
        process = self.processes.pop(revision, None)
        for router, _ in list(self.tag_routers.values()):
            if revision in router.table.names:
                router.route({}, {})
        if process is not None:
            await process.stop(grace=5.0)

    async def _router(self, key: str | tuple[str, str]) -> tuple[Router, int]:
        if isinstance(key, str):
            router = self.routers.get(key)
            if router is None:
                router = self.routers[key] = Router(self.metrics)
                self.ports[key] = await router.start("127.0.0.1", 0)
            return router, self.ports[key]
        existing = self.tag_routers.get(key)
        if existing is None:
            router = Router(self.metrics)
            existing = self.tag_routers[key] = (router, await router.start("127.0.0.1", 0))
        return existing

    async def route(
        self, service: str, weights: Mapping[str, int], tags: Mapping[str, str]
    ) -> dict[str, str]:
        live = {n: w for n, w in weights.items() if n in self.processes}
        router, _ = await self._router(service)
        router.route(live, {n: self._address(n) for n in live})
        urls: dict[str, str] = {}
        for tag, revision in tags.items():
            tag_router, port = await self._router((service, tag))
            if revision in self.processes:
                tag_router.route({revision: 100}, {revision: self._address(revision)})
            urls[tag] = f"http://127.0.0.1:{port}"
        for (svc, tag), (tag_router, _) in list(self.tag_routers.items()):
            if svc == service and tag not in tags:
                await tag_router.close()
                del self.tag_routers[(svc, tag)]
        return urls

    def service_url(self, service: str) -> str:
        port = self.ports.get(service)
        return f"http://127.0.0.1:{port}" if port else ""

    async def close(self) -> None:
        for name in list(self.processes):
            await self.stop(name)
        for router in self.routers.values():
            await router.close()
        for router, _ in self.tag_routers.values():
            await router.close()
