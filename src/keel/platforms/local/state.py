"""The state directory of one local environment: daemon address, revisions, weights, pids and logs.

Layout (``.keel/<env>/`` by default)::

    daemon.json   pid, admin port, router port, admin token of the running daemon (gone when it stops)
    daemon.lock   flock held by the running daemon: two daemons never serve one environment
    daemon.log    the daemon's own log
    state.json    revisions (command, explicit env, port, pid) and weights: what a restarted daemon recovers
    logs/<revision>.log   each revision's stdout and stderr, kept after the revision is removed

Files holding tokens or revision environments are written 0600 in a 0700 directory: revision environments
may carry secrets.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from keel.platforms.local.errors import LocalPlatformError

REVISION_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def check_revision_name(name: str) -> str:
    if not REVISION_NAME.match(name):
        raise LocalPlatformError(
            f"revision name {name!r} is not valid: use 1-63 of a-z 0-9 . _ - starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class DaemonInfo:
    pid: int
    admin_port: int
    router_port: int
    token: str
    started: float
    service: str
    env_name: str

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"


@dataclass(frozen=True)
class RevisionRecord:
    """A revision as the daemon runs it. ``env`` holds only the explicit variables (environment's and
    revision's), not the daemon's inherited ones; PORT and KEEL_REVISION are added at each start."""

    name: str
    command: tuple[str, ...]
    env: dict[str, str]
    cwd: str
    port: int
    created: float
    pid: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"] = list(self.command)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RevisionRecord:
        return cls(
            name=str(data["name"]),
            command=tuple(str(a) for a in data["command"]),
            env={str(k): str(v) for k, v in data.get("env", {}).items()},
            cwd=str(data["cwd"]),
            port=int(data["port"]),
            created=float(data["created"]),
            pid=int(data["pid"]) if data.get("pid") is not None else None,
        )


@dataclass(frozen=True)
class PersistedState:
    revisions: tuple[RevisionRecord, ...] = ()
    weights: dict[str, int] = field(default_factory=dict)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class StateDir:
    """Paths and (atomic) reads and writes of one environment's state directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def daemon_file(self) -> Path:
        return self.path / "daemon.json"

    @property
    def lock_file(self) -> Path:
        return self.path / "daemon.lock"

    @property
    def daemon_log(self) -> Path:
        return self.path / "daemon.log"

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    def log_path(self, revision: str) -> Path:
        return self.logs / f"{check_revision_name(revision)}.log"

    def ensure(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.logs.mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise LocalPlatformError(f"state directory {self.path}: {exc.strerror}") from exc

    def read_daemon(self) -> DaemonInfo | None:
        try:
            data = json.loads(self.daemon_file.read_text(encoding="utf-8"))
            return DaemonInfo(**data)
        except (OSError, ValueError, TypeError):
            return None

    def write_daemon(self, info: DaemonInfo) -> None:
        _write_private(self.daemon_file, json.dumps(asdict(info)))

    def clear_daemon(self, pid: int) -> None:
        """Remove daemon.json if it still names ``pid`` (a newer daemon's file is left alone)."""
        info = self.read_daemon()
        if info is not None and info.pid == pid:
            self.daemon_file.unlink(missing_ok=True)

    def read_state(self) -> PersistedState:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return PersistedState()
        except (OSError, ValueError) as exc:
            raise LocalPlatformError(f"{self.state_file}: unreadable local platform state: {exc}") from exc
        return PersistedState(
            revisions=tuple(RevisionRecord.from_json(r) for r in data.get("revisions", [])),
            weights={str(k): int(v) for k, v in data.get("weights", {}).items()},
        )

    def write_state(self, state: PersistedState) -> None:
        data = {"revisions": [r.to_json() for r in state.revisions], "weights": state.weights}
        _write_private(self.state_file, json.dumps(data, indent=1))

    def clear_state(self) -> None:
        self.state_file.unlink(missing_ok=True)
