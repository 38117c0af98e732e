"""The daemon of one local environment: the router on the environment's port, the supervised revisions,
and the admin API that ``LocalPlatform`` talks to. Run as ``python -m keel.platforms.local.daemon``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from keel.platforms.base import RevisionState
from keel.platforms.local.errors import LocalPlatformError
from keel.platforms.local.metrics import RouterMetrics
from keel.platforms.local.router import Router
from keel.platforms.local.state import (
    DaemonInfo,
    PersistedState,
    RevisionRecord,
    StateDir,
    check_revision_name,
)
from keel.platforms.local.supervisor import SupervisedRevision, group_alive, signal_group
from keel.types import Clock

log = logging.getLogger("keel.local.daemon")

LOCK_HELD = 3  # exit code: another daemon holds this environment's lock


class Conflict(LocalPlatformError):
    """The request contradicts the current state (duplicate name, removing a serving revision)."""


class NotFound(LocalPlatformError):
    """No such revision."""


def free_port(host: str = "127.0.0.1", avoid: frozenset[int] = frozenset()) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port
    raise LocalPlatformError("no free port found")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Daemon:
    """Owns the revisions and the router of one environment; every change is persisted at once."""

    def __init__(
        self,
        state: StateDir,
        *,
        service: str,
        env_name: str,
        clock: Clock = time.time,
        stop_grace: float = 10.0,
        supervision: Mapping[str, Any] | None = None,
    ) -> None:
        self.state = state
        self.service = service
        self.env_name = env_name
        self.clock = clock
        self.stop_grace = stop_grace
        self.metrics = RouterMetrics(clock)
        self.router = Router(self.metrics)
        self.revisions: dict[str, SupervisedRevision] = {}
        self.weights: dict[str, int] = {}
        self.stopped = asyncio.Event()
        self.forget_on_stop = False
        self._supervision = dict(supervision or {})
        self.router_port = 0

    # -- persistence ---------------------------------------------------------------------------------------
    def _persist(self, _: SupervisedRevision | None = None) -> None:
        records = tuple(replace(r.record, pid=r.pid) for r in self.revisions.values())
        self.state.write_state(PersistedState(records, dict(self.weights)))

    def _addresses(self) -> dict[str, tuple[str, int]]:
        return {name: ("127.0.0.1", r.record.port) for name, r in self.revisions.items()}

    def _supervise(self, record: RevisionRecord) -> SupervisedRevision:
        revision = SupervisedRevision(
            record, self.state.log_path(record.name), on_change=self._persist, **self._supervision
        )
        self.revisions[record.name] = revision
        revision.start()
        return revision

    async def recover(self) -> None:
        """Bring back what a previous daemon ran: stop its leftover processes, restart its revisions on
        their ports (or new ones when taken), and restore the weights."""
        previous = self.state.read_state()
        for record in previous.revisions:
            if record.pid is not None:
                signal_group(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for record in previous.revisions:
            while record.pid is not None and group_alive(record.pid):
                if time.monotonic() > deadline:
                    signal_group(record.pid, signal.SIGKILL)
                    break
                await asyncio.sleep(0.05)
        taken: set[int] = set()
        for record in previous.revisions:
            port = record.port if port_is_free(record.port) and record.port not in taken else 0
            if not port:
                port = free_port(avoid=frozenset(taken))
                log.warning("revision %s: port %d is taken, moving it to %d", record.name, record.port, port)
            taken.add(port)
            self._supervise(replace(record, port=port, pid=None))
        live = {n: w for n, w in previous.weights.items() if n in self.revisions and w > 0}
        if live and sum(live.values()) == 100:
            self.weights = live
            self.router.route(self.weights, self._addresses())
        self._persist()
        if previous.revisions:
            log.info("recovered %d revisions, weights %s", len(previous.revisions), self.weights)

    # -- operations behind the admin API ---------------------------------------------------------------------
    def deploy(self, name: str, command: list[str], env: dict[str, str], cwd: str) -> SupervisedRevision:
        check_revision_name(name)
        if name in self.revisions:
            raise Conflict(f"revision {name} already exists in {self.service} ({self.env_name})")
        if not command:
            raise LocalPlatformError(f"revision {name}: empty command")
        ports = frozenset({r.record.port for r in self.revisions.values()} | {self.router_port})
        port = free_port(avoid=ports)
        record = RevisionRecord(name, tuple(command), dict(env), cwd, port, self.clock())
        log.info("deploying revision %s on port %d", name, port)
        revision = self._supervise(record)
        self._persist()
        return revision

    def set_traffic(self, weights: Mapping[str, int]) -> dict[str, int]:
        unknown = sorted(set(weights) - set(self.revisions))
        if unknown:
            raise NotFound(f"no revision {', '.join(unknown)} in {self.service} ({self.env_name})")
        for name, weight in weights.items():
            state = self.revisions[name].state
            if weight > 0 and state in (RevisionState.FAILED, RevisionState.STOPPED):
                raise Conflict(f"revision {name} is {state.value}: it cannot take traffic")
        live = {n: int(w) for n, w in weights.items() if w > 0}
        try:
            self.router.route(live, self._addresses())
        except ValueError as exc:
            raise LocalPlatformError(f"traffic for {self.service} ({self.env_name}) refused: {exc}") from exc
        self.weights = live
        self._persist()
        log.info("traffic now %s", live)
        return dict(live)

    async def remove(self, name: str) -> None:
        revision = self.revisions.get(name)
        if revision is None:
            raise NotFound(f"no revision {name} in {self.service} ({self.env_name})")
        if self.weights.get(name, 0) > 0:
            raise Conflict(f"revision {name} serves {self.weights[name]} % of traffic: move it first")
        await revision.stop(self.stop_grace)
        del self.revisions[name]
        self.router.forget(name)
        self._persist()
        log.info("removed revision %s", name)

    def describe(self, revision: SupervisedRevision) -> dict[str, Any]:
        record = revision.record
        return {
            "name": record.name,
            "url": f"http://127.0.0.1:{record.port}",
            "port": record.port,
            "created": record.created,
            "state": revision.state.value,
            "detail": revision.detail,
            "pid": revision.pid,
            "restarts": revision.restarts,
            "command": list(record.command),
            "env_keys": sorted(record.env),  # names only: values may be secrets
            "log": str(revision.log_path),
            "weight": self.weights.get(record.name, 0),
        }

    async def shutdown(self) -> None:
        await self.router.close()
        await asyncio.gather(*(r.stop(self.stop_grace) for r in self.revisions.values()))
        if self.forget_on_stop:
            self.state.clear_state()
        else:
            self._persist()


def _lock(state: StateDir) -> IO[str] | None:
    """The daemon's exclusive lock on its state directory (held until exit), or None when taken."""
    handle = open(state.lock_file, "a+")  # noqa: SIM115 - held for the daemon's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


async def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from keel.platforms.local.admin import admin_app

    state = StateDir(Path(args.state_dir))
    state.ensure()
    lock = _lock(state)
    if lock is None:
        log.error("another daemon already serves %s", state.path)
        return LOCK_HELD
    daemon = Daemon(state, service=args.service, env_name=args.env_name, stop_grace=args.stop_grace)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.stopped.set)
    try:
        daemon.router_port = await daemon.router.start(args.host, args.port)
    except OSError as exc:
        log.error("cannot listen on %s:%d for user traffic: %s", args.host, args.port, exc.strerror)
        return 2
    await daemon.recover()
    token = secrets.token_urlsafe(24)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    admin_port = int(sock.getsockname()[1])
    config = uvicorn.Config(admin_app(daemon, token), log_level="warning", access_log=False, lifespan="off")
    server = _admin_server(config)
    admin = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not admin.done():  # noqa: ASYNC110 - uvicorn offers no event
        await asyncio.sleep(0.01)
    if admin.done():
        log.error("the admin API did not start: %r", admin.exception())
        await daemon.shutdown()
        return 1
    info = DaemonInfo(
        os.getpid(), admin_port, daemon.router_port, token, time.time(), args.service, args.env_name
    )
    state.write_daemon(info)
    log.info("serving %s (%s): router on %s:%d, admin on 127.0.0.1:%d", args.service, args.env_name,
             args.host, daemon.router_port, admin_port)  # fmt: skip
    await daemon.stopped.wait()
    log.info("stopping")
    state.clear_daemon(os.getpid())
    await daemon.shutdown()
    server.should_exit = True
    with contextlib.suppress(Exception):
        await admin
    log.info("stopped")
    return 0


def _admin_server(config: Any) -> Any:
    """uvicorn's server without its signal handling: the daemon owns SIGTERM and SIGINT."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            yield

    return Server(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keel-local-daemon", description=__doc__)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--env-name", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stop-grace", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        import uvloop
    except ImportError:
        return asyncio.run(serve(args))
    return uvloop.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
