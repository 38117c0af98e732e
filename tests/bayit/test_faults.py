"""Fault switches: off by default, exact and evenly spread, never on health, refused in production."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bayit.app import create_app
from bayit.faults import FaultConfigError, Faults
from bayit.migrate import upgrade
from bayit.seed import seed
from bayit.settings import Settings
from tests.bayit.conftest import TEST_SECRET


def settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", SECRET_KEY=TEST_SECRET, **values)  # type: ignore[arg-type]


async def client_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **faults: str) -> httpx.AsyncClient:
    for key, value in faults.items():
        monkeypatch.setenv(f"BAYIT_FAULT_{key}", value)
    app = create_app(settings(tmp_path), migrate=False)
    await upgrade(app.state.db.engine)
    await seed(app.state.db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://bayit.test")


def test_off_by_default_and_parsed_strictly() -> None:
    assert not Faults.from_env({}).active
    f = Faults.from_env({"BAYIT_FAULT_ERROR_RATE": "0.05", "BAYIT_FAULT_AUTH_BYPASS": "1"})
    assert f.error_rate == 0.05 and f.auth_bypass and not f.crash_at_start
    with pytest.raises(FaultConfigError, match="BAYIT_FAULT_ERROR_RATE: must be between 0 and 1"):
        Faults.from_env({"BAYIT_FAULT_ERROR_RATE": "5"})
    with pytest.raises(FaultConfigError, match="BAYIT_FAULT_LATENCY_MS: expected a number"):
        Faults.from_env({"BAYIT_FAULT_LATENCY_MS": "slow"})
    with pytest.raises(FaultConfigError, match="BAYIT_FAULT_TYPO: unknown fault switch"):
        Faults.from_env({"BAYIT_FAULT_TYPO": "1"})


async def test_error_rate_is_exact_and_spares_health_and_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await client_for(tmp_path, monkeypatch, ERROR_RATE="0.05") as client:
        codes = [(await client.get("/api/v1/content")).status_code for _ in range(100)]
        assert codes.count(500) == 5
        assert codes[:19] == [200] * 19  # the first failure is the 20th request
        assert (await client.get("/metrics")).status_code == 200
        for _ in range(40):
            assert (await client.get("/health/live")).status_code == 200


async def test_added_latency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with await client_for(tmp_path, monkeypatch, LATENCY_MS="300") as client:
        start = time.perf_counter()
        assert (await client.get("/api/v1/content")).status_code == 200
        assert time.perf_counter() - start >= 0.3


async def test_auth_bypass_answers_users_me_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await client_for(tmp_path, monkeypatch) as client:
        assert (await client.get("/api/v1/users/me")).status_code == 401
    async with await client_for(tmp_path, monkeypatch, AUTH_BYPASS="1") as client:
        assert (await client.get("/api/v1/users/me")).status_code == 200


def test_refused_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAYIT_FAULT_LATENCY_MS", "10")
    with pytest.raises(FaultConfigError, match="ENVIRONMENT=production: refusing to start"):
        create_app(settings(tmp_path, ENVIRONMENT="production"), migrate=False)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_crash_at_start_exits_the_server(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "PORT": str(free_port()),
        "BAYIT_FAULT_CRASH_AT_START": "1",
    }
    bayit = Path(sys.executable).parent / "bayit"
    proc = subprocess.run(
        [str(bayit), "serve", "--host", "127.0.0.1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "BAYIT_FAULT_CRASH_AT_START" in proc.stderr + proc.stdout
