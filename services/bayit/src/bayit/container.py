"""Serve Bayit+ in a container: uvicorn workers sized by the CPUs the container may use, on $PORT, with a
graceful shutdown that ends before the platform's kill (Cloud Run sends SIGKILL 10 s after SIGTERM).

The image's command (``python -m bayit.container``). Outside a container ``bayit serve`` is the command."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

CGROUP_ROOT = Path("/sys/fs/cgroup")
# Cloud Run's grace period is 10 s; the rest is for the lifespan's shutdown (closing the database pool).
DEFAULT_GRACEFUL_TIMEOUT = 8


class ContainerConfigError(Exception):
    """A container setting (WEB_CONCURRENCY, GRACEFUL_TIMEOUT) is invalid; the message names it."""


def cpu_quota(cgroup_root: Path = CGROUP_ROOT) -> float | None:
    """CPUs the container's cgroup allows (quota / period), or None when unlimited or unknown.
    cgroup v2 (``cpu.max``: "max 100000" or "200000 100000") first, then cgroup v1's CFS files."""
    try:
        quota, _, period = (cgroup_root / "cpu.max").read_text().strip().partition(" ")
        if quota == "max":
            return None
        return int(quota) / int(period or "100000")
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((cgroup_root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((cgroup_root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which container runtimes set), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def worker_count(environ: Mapping[str, str], cgroup_root: Path = CGROUP_ROOT, cpus: int | None = None) -> int:
    """``WEB_CONCURRENCY`` when set; else one worker per whole CPU the container may use (at least one)."""
    raw = environ.get("WEB_CONCURRENCY", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ContainerConfigError(f"WEB_CONCURRENCY: must be a whole number >= 1, got {raw!r}")
        return int(raw)
    available = cpus if cpus is not None else usable_cpus()
    quota = cpu_quota(cgroup_root)
    if quota is not None:
        available = min(available, math.floor(quota))
    return max(1, available)


def graceful_timeout(environ: Mapping[str, str]) -> int:
    raw = environ.get("GRACEFUL_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_GRACEFUL_TIMEOUT
    if not raw.isdigit():
        raise ContainerConfigError(f"GRACEFUL_TIMEOUT: must be whole seconds >= 0, got {raw!r}")
    return int(raw)


def app() -> FastAPI:
    """The application factory each worker calls (``bayit.container:app``)."""
    from bayit.app import create_app
    from bayit.observability import configure_logging
    from bayit.settings import load_settings

    settings = load_settings()
    configure_logging(settings.LOG_LEVEL)
    return create_app(settings)


def main() -> int:
    import uvicorn

    from bayit.settings import SettingsError
    from keel.errors import KeelError

    try:
        workers = worker_count(os.environ)
        grace = graceful_timeout(os.environ)
        # built once here (settings, health checks, fault switches), so a bad setting is one clear message
        # and exit 2, not a traceback per worker; a single worker serves this instance
        application = app()
    except SettingsError as exc:
        for line in exc.problems:
            print(f"bayit: invalid configuration: {line}", file=sys.stderr)
        return 2
    except (ContainerConfigError, KeelError) as exc:
        for line in str(exc).splitlines():
            print(f"bayit: invalid configuration: {line}", file=sys.stderr)
        return 2
    # Same server options as `bayit serve`; proxy headers are trusted from FORWARDED_ALLOW_IPS (uvicorn reads it).
    uvicorn.run(
        application if workers == 1 else "bayit.container:app",
        factory=workers > 1,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=application.state.settings.PORT,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=grace,
        lifespan="on",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
