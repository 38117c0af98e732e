"""The bayit command as a process: clear start-up errors, the sample catalog, graceful shutdown, outages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import PostgresServer, find_bindir, free_port
from tests.support.processes import BIN, start_bayit, wait_http

KEY = "kT9vQ2mX7pL4wR8zN3bH6jF1cY5dG0sA-tUeWiOqPy"


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ENVIRONMENT", "STORAGE_TYPE")}
    return subprocess.run(
        [str(BIN / "bayit"), *args], env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_invalid_configuration_stops_with_one_line_per_problem(tmp_path: Path) -> None:
    planted = "PLANTED-sk-live-1234"
    result = _run(
        ["serve"],
        {
            "ENVIRONMENT": "production",
            "STORAGE_TYPE": "gcs",
            "PORT": "0x50",
            "OPENAI_API_KEY": planted,
            "DATABASE_URL": f"postgresql://u:{planted}@db.internal/x",
        },
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert sorted(lines) == sorted(
        [
            "bayit: invalid configuration: PORT: Input should be a valid integer, unable to parse string as an integer",
            "bayit: invalid configuration: SECRET_KEY: required when ENVIRONMENT=production",
            "bayit: invalid configuration: GCS_BUCKET_NAME: required when STORAGE_TYPE=gcs (refusing to start without storage)",
        ]
    )
    assert "Traceback" not in result.stderr + result.stdout
    assert planted not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"DATABASE_URL": "mysql://u:PLANTED-db-9@db/x"}, "DATABASE_URL: unsupported database 'mysql'"),
        ({"DATABASE_URL": "postgresql://u:PLANTED-db-9@db:port/x"}, "DATABASE_URL: not a database URL"),
        ({"SENTRY_DSN": "https://o1.ingest.sentry.io/PLANTED-db-9"}, "SENTRY_DSN: has no public key"),
    ],
)
def test_a_bad_database_url_or_sentry_dsn_exits_2_with_one_line(env: dict[str, str], line: str) -> None:
    result = _run(["serve"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bayit: invalid configuration: {line}")
    assert "Traceback" not in result.stderr + result.stdout
    assert "PLANTED-db-9" not in result.stderr + result.stdout


def test_seed_then_serve_sample_catalog(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", "SECRET_KEY": KEY}
    seeded = _run(["seed"], env)
    assert seeded.returncode == 0, seeded.stderr
    assert "catalog items loaded" in seeded.stdout
    assert "already present" in _run(["seed"], env).stdout
    port = free_port()
    proc = start_bayit(port, env)
    try:
        body = wait_http(f"http://127.0.0.1:{port}/api/v1/content?limit=100&offset=100").json()
        assert body["total"] >= 200
        titles = [i["title_he"] for i in body["items"]]
        assert any(any("\u0590" <= ch <= "\u05ff" for ch in t) for t in titles)
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) in (
            0,
            -signal.SIGTERM,
        )  # uvicorn re-raises SIGTERM after a clean shutdown


def test_sigterm_finishes_in_flight_requests(tmp_path: Path) -> None:
    """A request that is in flight when SIGTERM arrives still gets its answer; new connections are refused."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", "SECRET_KEY": KEY}
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start_bayit(port, env, "--seed", log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v1/content?limit=1")
        # Deterministically in flight: headers sent, body only half sent when the signal arrives.
        body = json.dumps(
            {"email": "late@example.com", "password": "correct horse battery", "display_name": "L"}
        )
        head = (
            f"POST /api/v1/auth/register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(head.encode() + body[:10].encode())
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None, "server exited with a request in flight"
        sock.sendall(body[10:].encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        sock.close()
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "database pool closed" in log.read_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/v1/", timeout=2)


@pytest.mark.skipif(
    find_bindir() is None and os.environ.get("CI") != "true", reason="PostgreSQL not installed"
)
def test_database_outage_gives_503_not_500_and_recovers(tmp_path: Path) -> None:
    bindir = find_bindir()
    assert bindir is not None
    pg = PostgresServer(bindir)
    pg.init()
    pg.start()
    port = free_port()
    proc = start_bayit(port, {"DATABASE_URL": pg.url("postgres"), "SECRET_KEY": KEY}, "--seed")
    url = f"http://127.0.0.1:{port}/api/v1/content?limit=5"
    try:
        deadline = time.monotonic() + 60
        while len(wait_http(url).json()["items"]) < 5:  # seeding runs after the server starts listening
            assert time.monotonic() < deadline, "catalog never seeded"
            time.sleep(0.2)
        pg.stop("fast")
        r = httpx.get(url, timeout=20)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "service_unavailable"
        assert r.headers["retry-after"] == "5"
        assert "postgres" not in r.text.lower() and "127.0.0.1" not in r.text
        pg.start()
        assert len(wait_http(url, timeout=30).json()["items"]) == 5
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        pg.destroy()


@pytest.mark.skipif(
    find_bindir() is None and os.environ.get("CI") != "true", reason="PostgreSQL not installed"
)
def test_database_down_at_boot_delays_start_up_until_it_is_back(tmp_path: Path) -> None:
    bindir = find_bindir()
    assert bindir is not None
    pg = PostgresServer(bindir)
    pg.init()
    port = free_port()
    proc = start_bayit(
        port, {"DATABASE_URL": pg.url("postgres"), "SECRET_KEY": KEY}, "--seed", log=tmp_path / "s.log"
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_http(f"{base}/health/live").json()["status"] == "healthy"
        startup = wait_http(f"{base}/health/startup", expect=503)
        assert proc.poll() is None
        assert "5432" not in startup.text and str(pg.port) not in startup.text
        pg.start()
        wait_http(f"{base}/health/startup", timeout=40)
        assert wait_http(f"{base}/health/ready").status_code == 200
        assert len(wait_http(f"{base}/api/v1/content?limit=3").json()["items"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        pg.destroy()
