"""The container entry point (python -m bayit.container): workers sized by the container's CPUs, $PORT, and a
SIGTERM that finishes in-flight requests yet exits within the grace period (Cloud Run kills after 10 s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bayit.container import DEFAULT_GRACEFUL_TIMEOUT, ContainerConfigError, cpu_quota, worker_count


def cgroup(tmp_path: Path, v2: str | None = None, v1: tuple[str, str] | None = None) -> Path:
    if v2 is not None:
        (tmp_path / "cpu.max").write_text(v2 + "\n")
    if v1 is not None:
        (tmp_path / "cpu").mkdir()
        (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(v1[0] + "\n")
        (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(v1[1] + "\n")
    return tmp_path


@pytest.mark.parametrize(
    ("v2", "v1", "cpus", "workers"),
    [
        ("max 100000", None, 8, 8),  # no quota: the CPUs the process may run on
        ("200000 100000", None, 8, 2),  # Cloud Run --cpu 2
        ("100000 100000", None, 8, 1),  # Cloud Run's default 1 vCPU
        ("50000 100000", None, 8, 1),  # less than one CPU: still one worker
        ("400000 100000", None, 2, 2),  # affinity narrower than the quota
        (None, ("300000", "100000"), 8, 3),  # cgroup v1
        (None, ("-1", "100000"), 4, 4),  # cgroup v1, unlimited
        (None, None, 3, 3),  # no cgroup files at all
    ],
)
def test_workers_follow_the_cpu_quota(
    tmp_path: Path, v2: str | None, v1: tuple[str, str] | None, cpus: int, workers: int
) -> None:
    assert worker_count({}, cgroup(tmp_path, v2, v1), cpus=cpus) == workers


def test_web_concurrency_overrides_and_is_validated(tmp_path: Path) -> None:
    root = cgroup(tmp_path, "100000 100000")
    assert worker_count({"WEB_CONCURRENCY": "4"}, root, cpus=8) == 4
    for bad in ("0", "two", "-1"):
        with pytest.raises(ContainerConfigError, match="WEB_CONCURRENCY"):
            worker_count({"WEB_CONCURRENCY": bad}, root, cpus=8)


def test_an_unreadable_cpu_max_falls_back_to_cgroup_v1(tmp_path: Path) -> None:
    assert cpu_quota(cgroup(tmp_path, "garbage", ("200000", "100000"))) == 2.0


def test_the_default_grace_ends_before_cloud_runs_kill() -> None:
    assert DEFAULT_GRACEFUL_TIMEOUT < 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BAYIT_", "WEB_CONCURRENCY"))},
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bayit.db'}",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bayit.container"], env=full, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(proc: subprocess.Popen[bytes], url: str, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(url + "/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the container entry point never became ready")


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_finishes_in_flight_requests_and_exits_within_the_grace(tmp_path: Path, workers: str) -> None:
    # every API request takes 1.5 s; the grace is 3 s
    proc, url = _start(tmp_path, WEB_CONCURRENCY=workers, GRACEFUL_TIMEOUT="3", BAYIT_FAULT_LATENCY_MS="1500")
    try:
        _wait_ready(proc, url)
        answers: list[int] = []
        request = threading.Thread(
            target=lambda: answers.append(httpx.get(url + "/api/v1/content", timeout=30).status_code)
        )
        request.start()
        time.sleep(0.5)  # the request is in flight
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        request.join(30)
        assert answers == [200]  # finished, not cut
        proc.wait(timeout=30)
        # a clean stop: one uvicorn server re-raises the SIGTERM it handled once done, a supervisor exits 0
        assert proc.returncode in (0, -signal.SIGTERM)
        assert time.monotonic() - sent < 10.0  # generous: a loaded machine; Cloud Run allows 10 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_a_request_longer_than_the_grace_does_not_keep_the_container_alive(tmp_path: Path) -> None:
    proc, url = _start(tmp_path, WEB_CONCURRENCY="1", GRACEFUL_TIMEOUT="1", BAYIT_FAULT_LATENCY_MS="60000")
    try:
        _wait_ready(proc, url)
        threading.Thread(target=lambda: httpx.get(url + "/api/v1/content", timeout=90), daemon=True).start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        proc.wait(timeout=30)
        # the 60 s request was cut at the 1 s grace; far below it even on a loaded machine
        assert time.monotonic() - sent < 15.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_container_settings_exit_2_naming_the_variable(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, WEB_CONCURRENCY="lots")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert b"bayit: invalid configuration: WEB_CONCURRENCY: must be a whole number >= 1, got 'lots'" in err


def test_bad_service_settings_exit_2_once_not_per_worker(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, WEB_CONCURRENCY="2", ENVIRONMENT="production", SECRET_KEY="")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.decode().count("SECRET_KEY: required when ENVIRONMENT=production") == 1
    assert b"Traceback" not in err


@pytest.mark.slow
@pytest.mark.postgres
def test_several_workers_migrate_one_fresh_postgres_database(tmp_path: Path, postgres_server: Any) -> None:
    """Each worker runs the start-up migrations: on an empty database they race, and every worker still ends
    ready on one schema (the loser's attempt fails and the start-up loop retries it)."""
    url = postgres_server.create_database("t_container_race")
    proc, base = _start(tmp_path, WEB_CONCURRENCY="3", DATABASE_URL=url)
    try:
        _wait_ready(proc, base, deadline=120.0)
        # readiness of every worker: one connection per request, spread by the kernel over the workers. The
        # first ready worker answers before the others have finished their (retried) migrations, so a late
        # worker may still say 503 for a while; every worker must end ready: 30 answers in a row all 200.
        in_a_row, statuses, give_up = 0, [], time.monotonic() + 120
        while in_a_row < 30:
            assert time.monotonic() < give_up, f"workers never all ready: {statuses[-60:]}"
            status = httpx.get(base + "/health/ready", timeout=5, headers={"connection": "close"}).status_code
            statuses.append(status)
            in_a_row = in_a_row + 1 if status == 200 else 0
            if status != 200:
                time.sleep(0.5)
        assert httpx.get(base + "/api/v1/content", timeout=5).status_code == 200
        versions = postgres_server.psql("SELECT count(*) FROM alembic_version", database="t_container_race")
        assert versions.strip() == "1"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
