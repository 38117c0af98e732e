"""LocalPlatform: the Platform protocol for local processes, a client of the environment's daemon.

The daemon (``daemon.py``) outlives any one keel command. Every call finds it through ``daemon.json`` in
the state directory; when none runs and ``auto_start`` is set (the default), the call starts one first, so
the rollout engine needs no separate ``keel up``. A daemon that died is replaced by one that recovers its
revisions and weights from ``state.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from keel.analysis.base import RevisionWindow
from keel.platforms.base import Revision, RevisionSpec, RevisionState, TrafficSplit
from keel.platforms.config import PlatformConfig, PlatformContext
from keel.platforms.local.config import LocalConfig
from keel.platforms.local.daemon import LOCK_HELD
from keel.platforms.local.errors import DaemonNotRunning, DaemonStartError, LocalPlatformError
from keel.platforms.local.metrics import window_from_json
from keel.platforms.local.state import DaemonInfo, StateDir, check_revision_name
from keel.platforms.local.supervisor import find_program, group_alive, signal_group
from keel.processes import pid_alive

if TYPE_CHECKING:
    from keel.analysis.sources.router import RouterSource

DAEMON_MODULE = "keel.platforms.local.daemon"


def is_daemon(pid: int) -> bool:
    """Whether ``pid`` is a live local-platform daemon (not a process that reused a dead daemon's pid)."""
    if not pid_alive(pid):
        return False
    try:
        return DAEMON_MODULE.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid


@dataclass(frozen=True)
class RevisionStatus:
    """A revision as ``keel status`` shows it: the platform's view plus what the daemon knows."""

    revision: Revision
    port: int
    pid: int | None
    restarts: int
    weight: int
    log: str


class LocalPlatform:
    """One environment of one service on this machine: revisions are processes behind the router."""

    Config: ClassVar[type[PlatformConfig]] = LocalConfig

    @classmethod
    def from_config(
        cls, config: PlatformConfig, context: PlatformContext, *, auto_start: bool = True
    ) -> LocalPlatform:
        assert isinstance(config, LocalConfig)
        return cls(
            service=context.service,
            env_name=context.environment,
            command=config.run,
            port=config.port,
            state_dir=context.state_dir / context.environment,
            env=config.env,
            host=config.host,
            auto_start=auto_start and not context.read_only,
        )

    def __init__(
        self,
        service: str,
        env_name: str,
        command: Sequence[str],
        port: int,
        state_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        auto_start: bool = True,
        start_timeout: float = 30.0,
        stop_grace: float = 10.0,
        request_timeout: float = 30.0,
    ) -> None:
        self.service = service
        self.env_name = env_name
        self.command = tuple(command)
        self.port = port
        self.state = StateDir(Path(state_dir))
        self.env = dict(env or {})
        self.host = host
        self.auto_start = auto_start
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self.request_timeout = request_timeout

    @property
    def name(self) -> str:
        return f"local environment {self.env_name} of {self.service}"

    @property
    def url(self) -> str:
        """Where user traffic arrives: the router."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    # -- the daemon --------------------------------------------------------------------------------------------
    def daemon(self) -> DaemonInfo | None:
        """The running daemon, or None (a daemon.json whose process is gone does not count)."""
        info = self.state.read_daemon()
        if info is None or not is_daemon(info.pid):
            return None
        return info

    async def start(self) -> DaemonInfo:
        """Start the daemon unless it runs; returns once its admin API answers."""
        info = self.daemon()
        if info is not None:
            return info
        self.state.ensure()
        stale = self.state.read_daemon()
        # Only a record whose process is gone is stale: another caller's daemon may have written it meanwhile.
        if stale is not None and not is_daemon(stale.pid):
            self.state.clear_daemon(stale.pid)
        command = [
            sys.executable, "-m", DAEMON_MODULE,
            "--state-dir", str(self.state.path.resolve()), "--service", self.service,
            "--env-name", self.env_name, "--host", self.host, "--port", str(self.port),
            "--stop-grace", str(self.stop_grace),
        ]  # fmt: skip
        process = _spawn_detached(command, self.state.daemon_log)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            info = self.daemon()
            if info is not None and await self._answers(info):
                return info
            code = process.poll()
            # LOCK_HELD: another caller's daemon is starting at the same moment; wait for that one instead.
            if code is not None and code != LOCK_HELD and self.daemon() is None:
                raise DaemonStartError(
                    f"{self.name}: daemon exited with code {code}: {self._last_log_line()}"
                )
            await asyncio.sleep(0.05)
        process.kill()
        raise DaemonStartError(f"{self.name}: daemon did not start within {self.start_timeout:.0f}s")

    def _last_log_line(self) -> str:
        try:
            lines = self.state.daemon_log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        errors = [line for line in lines if " ERROR " in line]
        return (errors or lines or ["no log"])[-1] + f" (log: {self.state.daemon_log})"

    async def _answers(self, info: DaemonInfo) -> bool:
        try:
            await self._request(info, "GET", "/v1/daemon")
        except LocalPlatformError:
            return False
        return True

    async def _ensure(self) -> DaemonInfo:
        info = self.daemon()
        if info is not None:
            return info
        if not self.auto_start:
            raise DaemonNotRunning(
                f"{self.name} is not running (start it with: keel up --env {self.env_name})"
            )
        return await self.start()

    async def stop(self) -> bool:
        """Stop the daemon and every revision, and forget them; True when something was running.
        Also cleans up after a daemon that died: its revision processes are stopped from state.json."""
        info = self.daemon()
        was_running = info is not None
        if info is not None:
            try:
                await self._request(info, "POST", "/v1/shutdown", {"forget": True})
            except LocalPlatformError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(info.pid, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_grace + 10
            while pid_alive(info.pid) and time.monotonic() < deadline:  # noqa: ASYNC110 - another process
                await asyncio.sleep(0.05)
            if pid_alive(info.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(info.pid, signal.SIGKILL)
        if self.state.path.exists():
            leftovers = [
                r.pid for r in self.state.read_state().revisions if r.pid is not None and group_alive(r.pid)
            ]
            for pid in leftovers:  # left behind by a daemon that died
                signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_grace
            while any(group_alive(pid) for pid in leftovers) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            for pid in leftovers:
                signal_group(pid, signal.SIGKILL)
            was_running = was_running or bool(leftovers)
            self.state.clear_state()
            if info is not None:
                self.state.clear_daemon(info.pid)
        return was_running

    async def _request(
        self,
        info: DaemonInfo,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        import httpx

        headers = {"authorization": f"Bearer {info.token}"}
        try:
            # Plain HTTP on loopback: no TLS context to build (it costs ~70 ms), no proxy from the environment.
            async with httpx.AsyncClient(
                base_url=info.admin_url,
                timeout=self.request_timeout,
                verify=False,  # noqa: S501  # nosec B501: plain HTTP to the daemon on loopback, no TLS to verify
                trust_env=False,
            ) as client:
                response = await client.request(method, path, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise LocalPlatformError(f"{self.name}: daemon (pid {info.pid}) did not answer: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                message = str(response.json().get("error", response.text))
            except ValueError:
                message = response.text
            raise LocalPlatformError(f"{self.name}: {message}")
        return response.json() if response.content else None

    async def _call(
        self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        return await self._request(await self._ensure(), method, path, body, params)

    # -- the Platform protocol -------------------------------------------------------------------------------
    async def deploy(self, spec: RevisionSpec) -> Revision:
        check_revision_name(spec.name)
        command = list(spec.command or self.command)
        if not command:
            raise LocalPlatformError(f"{self.name}: revision {spec.name}: no command to run")
        env = {**self.env, **spec.env}
        where = (
            f"revision {spec.name}: command"
            if spec.command
            else f"keel.yaml environments.{self.env_name}.run"
        )
        command = self._resolve(command, env, where)
        data = await self._call(
            "POST", "/v1/revisions", {"name": spec.name, "command": command, "env": env, "cwd": os.getcwd()}
        )
        return _revision(data)

    def _resolve(self, command: list[str], env: Mapping[str, str], where: str) -> list[str]:
        """The command with a bare program name made absolute from THIS caller's PATH (the revision's env may
        set its own), not the daemon's: the daemon keeps the environment of whoever started it first, so a
        shell that activated another venv since would otherwise get the old interpreter."""
        program = command[0]
        if os.sep in program:
            return command  # a path: relative ones are taken from the cwd sent along
        path = env.get("PATH", os.environ.get("PATH", os.defpath))
        found = find_program(program, path)
        if found is None:
            raise LocalPlatformError(
                f"{self.name}: {where}: program {program!r} is not on "
                f"the PATH of this shell nor beside {sys.executable} (activate its virtualenv, or give a path)"
            )
        return [found, *command[1:]]

    async def set_traffic(self, weights: Mapping[str, int]) -> TrafficSplit:
        split = TrafficSplit(dict(weights))  # validates: non-negative, adding up to 100
        if not split.weights:
            raise LocalPlatformError(f"{self.name}: traffic weights are empty")
        data = await self._call("PUT", "/v1/traffic", {"weights": dict(split.weights)})
        return TrafficSplit({str(k): int(v) for k, v in data["weights"].items()})

    async def traffic(self) -> TrafficSplit:
        """Read from the router itself; revisions with 0 % are left out."""
        data = await self._call("GET", "/v1/traffic")
        return TrafficSplit({str(k): int(v) for k, v in data["weights"].items()})

    async def revisions(self) -> list[Revision]:
        return [_revision(r) for r in (await self._call("GET", "/v1/revisions"))["revisions"]]

    async def remove(self, name: str) -> None:
        await self._call("DELETE", f"/v1/revisions/{check_revision_name(name)}")

    # -- beyond the protocol: status, metrics, logs ------------------------------------------------------------
    async def revision_status(self) -> list[RevisionStatus]:
        return [
            RevisionStatus(
                _revision(r),
                int(r["port"]),
                r.get("pid"),
                int(r["restarts"]),
                int(r["weight"]),
                str(r["log"]),
            )
            for r in (await self._call("GET", "/v1/revisions"))["revisions"]
        ]

    async def totals(self) -> list[dict[str, Any]]:
        """Requests, errors and status codes per revision since the daemon started (within retention)."""
        return list((await self._call("GET", "/v1/metrics"))["revisions"])

    async def window(self, revision: str, start: float, end: float) -> RevisionWindow:
        data = await self._call("GET", f"/v1/metrics/{revision}", params={"start": start, "end": end})
        return window_from_json(data)

    def metric_source(self) -> RouterSource:
        """The router's per-revision metrics as a keel.analysis MetricSource."""
        from keel.analysis.sources.router import RouterSource

        return RouterSource(self)

    def log_path(self, revision: str) -> Path:
        return self.state.log_path(revision)


def _spawn_detached(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start the daemon in its own session, so it outlives this process and its terminal."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _revision(data: Mapping[str, Any]) -> Revision:
    return Revision(
        name=str(data["name"]),
        url=str(data["url"]),
        created=float(data["created"]),
        state=RevisionState(str(data["state"])),
        detail=str(data.get("detail", "")),
    )
