"""The local Secret Manager's HTTP server (Starlette): ``/v1/projects/{project}/secrets...`` as Google serves it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keel.emulators.secretmanager.api import ApiError, SecretManagerApi

Handler = Callable[[Request], Awaitable[dict[str, Any]]]
_SECRET = "/v1/projects/{project}/secrets/{secret}"


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json; charset=UTF-8")


def _handled(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return _answer(await handler(request))
        except ApiError as exc:
            return _answer(exc.to_json(), exc.code)
        except ValueError:
            return _answer(ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.").to_json(), 400)

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("not an object")
    return body


def create_app(api: SecretManagerApi | None = None) -> Starlette:
    api = api or SecretManagerApi()

    def secret(r: Request) -> str:
        return f"projects/{r.path_params['project']}/secrets/{r.path_params['secret']}"

    def version(r: Request) -> str:
        return f"{secret(r)}/versions/{r.path_params['version']}"

    async def secrets(r: Request) -> dict[str, Any]:
        project = r.path_params["project"]
        if r.method == "POST":
            return api.create_secret(project, r.query_params.get("secretId", ""), await _body(r))
        return api.list_secrets(project)

    async def one_secret(r: Request) -> dict[str, Any]:
        if r.method == "PATCH":
            mask = tuple(p for p in r.query_params.get("updateMask", "").split(",") if p)
            return api.update_secret(secret(r), await _body(r), mask)
        if r.method == "DELETE":
            return api.delete_secret(secret(r))
        return api.get_secret(secret(r))

    async def secret_action(r: Request) -> dict[str, Any]:
        if r.path_params["action"] != "addVersion":
            raise ApiError(404, "NOT_FOUND", f"Method {r.path_params['action']} not found.")
        return api.add_version(secret(r), await _body(r))

    async def versions(r: Request) -> dict[str, Any]:
        return api.list_versions(secret(r))

    async def one_version(r: Request) -> dict[str, Any]:
        return api.get_version(version(r))

    async def version_action(r: Request) -> dict[str, Any]:
        action = r.path_params["action"]
        if action == "access" and r.method == "GET":
            return api.access(version(r))
        states = {"enable": "ENABLED", "disable": "DISABLED", "destroy": "DESTROYED"}
        if action in states and r.method == "POST":
            return api.set_state(version(r), states[action])
        raise ApiError(404, "NOT_FOUND", f"Method {action} not found.")

    routes = [
        Route("/v1/projects/{project}/secrets", _handled(secrets), methods=["GET", "POST"]),
        Route(_SECRET + "/versions", _handled(versions), methods=["GET"]),
        Route(_SECRET + "/versions/{version}:{action}", _handled(version_action), methods=["GET", "POST"]),
        Route(_SECRET + "/versions/{version}", _handled(one_version), methods=["GET"]),
        Route(_SECRET + ":{action}", _handled(secret_action), methods=["POST"]),
        Route(_SECRET, _handled(one_secret), methods=["GET", "PATCH", "DELETE"]),
    ]
    return Starlette(routes=routes)


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def serve(host: str, port: int, stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    """Serve on ``host:port`` (0: a free port) until ``stop`` is set; ``ready(port)`` once it listens."""
    import uvicorn

    sock = _socket(host, port)
    server = uvicorn.Server(
        uvicorn.Config(create_app(), log_level="warning", access_log=False, lifespan="off")
    )
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # it stopped before listening: its error, or SystemExit from uvicorn
            raise RuntimeError("the Secret Manager emulator stopped before it listened")
        await asyncio.sleep(0.01)
    ready(sock.getsockname()[1])
    await stop.wait()
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sock.close()


@contextlib.contextmanager
def running(host: str = "127.0.0.1") -> Iterator[str]:
    """The server on a free port in a background thread; yields ``host:port`` (SECRET_MANAGER_EMULATOR_HOST)."""
    import uvicorn

    sock = _socket(host, 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), log_level="warning", access_log=False, lifespan="off")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), daemon=True
    )
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.01)
        yield f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        loop.close()
        sock.close()
