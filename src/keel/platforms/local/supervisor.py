"""Supervision of one revision process: start, wait until it listens, restart on crash, stop cleanly.

A revision that exits before it ever listened on its port is restarted with backoff; after
``start_attempts`` such exits it is FAILED and left down (a crash at start is not fixed by retrying forever).
One that crashes after it listened is restarted with backoff (reset once it ran ``stable_after`` seconds).
Each process leads its own process group, so stopping it (SIGTERM, then SIGKILL after a grace period)
also reaches the children it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from keel.platforms.base import RevisionState
from keel.platforms.local.state import RevisionRecord
from keel.types import Clock, Sleeper

log = logging.getLogger("keel.local.supervisor")


def find_program(program: str, path: str | None) -> str | None:
    """``program`` (a bare name) found on ``path``, else beside this Python (a venv's scripts need no
    activation), as an absolute path; None when neither has it."""
    found = shutil.which(program, path=path)
    if found is None:
        beside = Path(sys.executable).parent / program
        if beside.is_file() and os.access(beside, os.X_OK):
            found = str(beside)
    return None if found is None else os.path.abspath(found)


def resolve_command(command: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """The command with its program found on PATH, or beside this Python; a path (with a slash) is kept,
    and an unresolvable program is left as is, so the spawn fails and says so."""
    program = command[0]
    if os.sep in program:
        return list(command)
    return [find_program(program, env.get("PATH")) or program, *command[1:]]


def signal_group(pid: int, sig: int) -> bool:
    """Signal the process group led by ``pid`` (0 only checks it exists); False when no such group is left."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Whether any live (not zombie) process is left in the process group ``pgid``."""
    proc = Path("/proc")
    if not proc.is_dir():
        return signal_group(pgid, 0)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


async def port_listens(host: str, port: int, within: float = 1.0) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _open_log(path: Path, event: str) -> BinaryIO:
    """The revision's log, opened for appending, with a line marking this start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = open(path, "ab")  # noqa: SIM115 - the caller closes it once the child holds its own copy
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out.write(f"--- keel: {event} at {stamp}\n".encode())
    out.flush()
    return out


class SupervisedRevision:
    """Runs ``record.command`` until stopped; ``state``, ``detail`` and ``pid`` tell how it goes."""

    def __init__(
        self,
        record: RevisionRecord,
        log_path: Path,
        *,
        on_change: Callable[[SupervisedRevision], None] = lambda _: None,
        start_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        stable_after: float = 10.0,
        poll: float = 0.1,
        clock: Clock = time.monotonic,
        sleeper: Sleeper = asyncio.sleep,
    ) -> None:
        self.record = record
        self.log_path = log_path
        self.state = RevisionState.STARTING
        self.detail = ""
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._on_change = on_change
        self._start_attempts = start_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._stable_after = stable_after
        self._poll = poll
        self._clock = clock
        self._sleep = sleeper
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"revision {self.name}")

    def _set(self, state: RevisionState, detail: str) -> None:
        self.state = state
        self.detail = detail
        self._on_change(self)

    async def _spawn(self, attempt: int) -> asyncio.subprocess.Process:
        # PORT follows the record: a recovered revision may have moved to another port.
        env = {**os.environ, **self.record.env, "PORT": str(self.record.port), "KEEL_REVISION": self.name}
        command = resolve_command(self.record.command, env)
        with _open_log(self.log_path, f"start #{attempt} of {self.name} on port {self.record.port}") as out:
            return await asyncio.create_subprocess_exec(
                *command,
                cwd=self.record.cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )

    async def _until_listening(self, process: asyncio.subprocess.Process) -> bool:
        while process.returncode is None:
            if await port_listens("127.0.0.1", self.record.port, within=max(self._poll, 0.5)):
                return True
            await asyncio.sleep(self._poll)
        return False

    async def _run(self) -> None:
        failures_at_start = 0
        delay = self._backoff
        attempt = 0
        while not self._stopping:
            attempt += 1
            self._set(RevisionState.STARTING, "starting" if attempt == 1 else self.detail)
            try:
                process = self._process = await self._spawn(attempt)
            except OSError as exc:
                self._set(
                    RevisionState.FAILED, f"cannot start {self.record.command[0]!r}: {exc.strerror or exc}"
                )
                return
            self._on_change(self)
            started = self._clock()
            listening = asyncio.create_task(self._until_listening(process))
            exited = asyncio.create_task(process.wait())
            await asyncio.wait({listening, exited}, return_when=asyncio.FIRST_COMPLETED)
            became_ready = listening.done() and listening.result()
            if became_ready and not exited.done():
                self._set(RevisionState.RUNNING, f"pid {process.pid}, port {self.record.port}")
            code = await exited
            listening.cancel()
            if self._stopping:
                break
            ran = self._clock() - started
            if not became_ready:
                failures_at_start += 1
                if failures_at_start >= self._start_attempts:
                    self._set(
                        RevisionState.FAILED,
                        f"exited with code {code} before listening on port {self.record.port}, "
                        f"{failures_at_start} times; log: {self.log_path}",
                    )
                    return
            elif ran >= self._stable_after:
                delay = self._backoff
            self.restarts += 1
            self._set(
                RevisionState.STARTING, f"exited with code {code}; restart {self.restarts} in {delay:.1f}s"
            )
            log.warning("revision %s exited with code %s; restarting in %.1fs", self.name, code, delay)
            await self._sleep(delay)
            delay = min(delay * 2, self._max_backoff)

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the revision's process group; SIGKILL after ``grace`` seconds; no child left behind."""
        self._stopping = True
        process = self._process
        task = self._task
        if process is not None and process.returncode is None:
            signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                log.warning("revision %s ignored SIGTERM for %.1fs: killing it", self.name, grace)
                signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        if process is not None and signal_group(process.pid, signal.SIGKILL):  # children that outlived it
            for _ in range(100):
                if not group_alive(process.pid):
                    break
                await asyncio.sleep(0.02)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.state is not RevisionState.FAILED:
            self._set(RevisionState.STOPPED, "stopped")
