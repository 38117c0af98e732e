"""The emulator's HTTP server: the Admin API v2 REST surface the official client uses, and Cloud Monitoring.

Paths and bodies are those of ``run.googleapis.com`` (JSON of the ``run_v2`` messages, camelCase, enums as
names or numbers, Google's JSON errors); long-running operations are ``google.longrunning.Operation``. One
asyncio loop runs the API, the revisions' supervisors and the routers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from google.cloud import run_v2
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keel.emulators.cloudrun.api import ApiError, CloudRunApi, Operation
from keel.emulators.cloudrun.config import EmulatorConfig
from keel.emulators.cloudrun.monitoring import Monitoring
from keel.emulators.cloudrun.runtime import ProcessRuntime
from keel.platforms.local.metrics import RouterMetrics

log = logging.getLogger("keel.emulators.cloudrun")
Handler = Callable[[Request], Awaitable[Any]]
_LOCATION = "/v2/projects/{project}/locations/{location}"


def _json(message: Any) -> Response:
    if isinstance(message, dict):
        text = json.dumps(message)
    elif hasattr(message, "DESCRIPTOR") and not hasattr(type(message), "pb"):
        text = json_format.MessageToJson(message)
    else:
        text = type(message).to_json(message)
    return Response(text, media_type="application/json; charset=UTF-8")


def _error(exc: ApiError) -> Response:
    return Response(
        json.dumps(exc.to_json()), status_code=exc.code, media_type="application/json; charset=UTF-8"
    )


def _handled(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except ApiError as exc:
            return _error(exc)
        except (json_format.ParseError, ValueError) as exc:
            return _error(ApiError(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}"))
        if isinstance(result, Operation):
            return _json(result.to_pb())
        return _json(result)

    return endpoint


def _mask(request: Request) -> tuple[str, ...]:
    raw = request.query_params.get("updateMask", "")
    # Field masks travel in camelCase; the model uses snake_case.
    return tuple(
        "".join("_" + c.lower() if c.isupper() else c for c in part) for part in raw.split(",") if part
    )


class Emulator:
    """The whole emulator: API, monitoring, revisions. ``await start()`` returns the port it listens on."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if config.state_dir:
            state_dir = Path(config.state_dir)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="keel-cloudrun-emulator-")
            state_dir = Path(self._tmp.name)
        self.metrics = RouterMetrics(clock=time.time)
        self.runtime = ProcessRuntime(config, state_dir, self.metrics)
        self.api = CloudRunApi(self.runtime)
        self.monitoring = Monitoring(self.metrics, config.ingestion_delay)
        self.port = 0
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self.app = Starlette(routes=self._routes())

    def _routes(self) -> list[Route]:
        api = self.api

        def loc(r: Request) -> str:
            return f"projects/{r.path_params['project']}/locations/{r.path_params['location']}"

        async def list_services(r: Request) -> Any:
            return run_v2.ListServicesResponse(services=api.list_services(loc(r)))

        async def create_service(r: Request) -> Any:
            body = run_v2.Service.from_json(await r.body() or b"{}", ignore_unknown_fields=True)
            return await api.create_service(loc(r), r.query_params.get("serviceId", ""), body)

        async def get_service(r: Request) -> Any:
            return api.get_service(f"{loc(r)}/services/{r.path_params['service']}")

        async def update_service(r: Request) -> Any:
            body = run_v2.Service.from_json(await r.body() or b"{}", ignore_unknown_fields=True)
            body.name = f"{loc(r)}/services/{r.path_params['service']}"
            allow = r.query_params.get("allowMissing", "false").lower() == "true"
            return await api.update_service(body, _mask(r), allow)

        async def list_revisions(r: Request) -> Any:
            parent = f"{loc(r)}/services/{r.path_params['service']}"
            return run_v2.ListRevisionsResponse(revisions=api.list_revisions(parent))

        async def get_revision(r: Request) -> Any:
            return api.get_revision(
                f"{loc(r)}/services/{r.path_params['service']}/revisions/{r.path_params['revision']}"
            )

        async def delete_revision(r: Request) -> Any:
            name = f"{loc(r)}/services/{r.path_params['service']}/revisions/{r.path_params['revision']}"
            return await api.delete_revision(name, r.query_params.get("etag", ""))

        async def get_operation(r: Request) -> Any:
            return api.get_operation(f"{loc(r)}/operations/{r.path_params['operation']}")

        async def wait_operation(r: Request) -> Any:
            operation = r.path_params["operation"]
            if not operation.endswith(":wait"):
                raise ApiError(404, "NOT_FOUND", f"no method at {r.url.path}")
            body = json.loads(await r.body() or b"{}")
            timeout = float(str(body.get("timeout", "60s")).rstrip("s") or 60)
            return await api.wait_operation(f"{loc(r)}/operations/{operation.removesuffix(':wait')}", timeout)

        async def time_series(r: Request) -> Any:
            return self.monitoring.list_time_series(
                r.path_params["project"], list(r.query_params.multi_items())
            )

        svc = _LOCATION + "/services/{service}"
        return [
            Route(_LOCATION + "/services", _handled(list_services), methods=["GET"]),
            Route(_LOCATION + "/services", _handled(create_service), methods=["POST"]),
            Route(svc, _handled(get_service), methods=["GET"]),
            Route(svc, _handled(update_service), methods=["PATCH"]),
            Route(svc + "/revisions", _handled(list_revisions), methods=["GET"]),
            Route(svc + "/revisions/{revision}", _handled(get_revision), methods=["GET"]),
            Route(svc + "/revisions/{revision}", _handled(delete_revision), methods=["DELETE"]),
            Route(_LOCATION + "/operations/{operation}", _handled(get_operation), methods=["GET"]),
            Route(_LOCATION + "/operations/{operation}", _handled(wait_operation), methods=["POST"]),
            Route("/v3/projects/{project}/timeSeries", _handled(time_series), methods=["GET"]),
        ]

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def start(self) -> int:
        import uvicorn

        sock = socket.socket(socket.AF_INET6 if ":" in self.config.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self.port

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.api.close()
        await self.runtime.close()
        if self._tmp is not None:
            self._tmp.cleanup()


@contextlib.contextmanager
def running(config: EmulatorConfig) -> Iterator[Emulator]:
    """The emulator on its own event loop in a background thread (for tests and embedding); stopped, with
    every revision process, on exit."""
    loop = asyncio.new_event_loop()
    emulator_box: list[Emulator] = []
    ready = threading.Event()
    failure: list[BaseException] = []
    stop = asyncio.Event()

    async def main() -> None:
        emulator = Emulator(config)
        emulator_box.append(emulator)
        try:
            await emulator.start()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            await emulator.close()
            return
        ready.set()
        await stop.wait()
        await emulator.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(30)
    if failure:
        thread.join(30)
        loop.close()
        raise failure[0]
    try:
        yield emulator_box[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        loop.close()
