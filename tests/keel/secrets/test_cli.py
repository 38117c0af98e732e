"""keel secrets from the command line on Bayit+ (local platform, real processes): users signed in before a JWT
rotation stay signed in; a SIGKILLed rotation resumes; planted values never appear in output or the store."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from keel.secrets.records import RotationRecords
from keel.store import Store
from tests.keel.cli.releases import KEEL, free_port, keel
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.slow

ENV = "local"
PLANTED_OPENAI = "sk-planted-openai-" + secrets.token_hex(16)


ITEMS = """\
    jwt: {type: jwt, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, grace: 2h, every: 30d}
    openai: {type: openai, env: OPENAI_API_KEY, every: 90d}
"""


def write_project(
    directory: Path, port: int, key_file: Path, items: str = ITEMS, database: bool = False
) -> Path:
    env = {"ENVIRONMENT": "development", "LOG_LEVEL": "WARNING"}
    if not database:
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{directory / 'bayit.db'}"
    spec = directory / "keel.yaml"
    spec.write_text(
        f"""service: bayit-secrets
environments:
  {ENV}:
    platform: local
    run: [bayit, serve, --seed, --host, 127.0.0.1]
    port: {port}
    env: {json.dumps(env)}
gates:
  health: {{path: /health/ready, passes: 2, deadline: 90s, interval: 0.5s}}
  smoke:
    - {{path: /api/v1/users/me, status: 401}}
strategy: direct
rollback: {{passes: 2, deadline: 30s, interval: 0.25s}}
secrets:
  backend: {{type: local, key_file: {key_file}}}
  verify: /health/deep
  items:
{items}"""
    )
    return spec


def run(
    directory: Path,
    *args: str,
    stdin: str | None = None,
    timeout: float = 240,
    extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    if stdin is None and extra is None:
        return keel(*args, cwd=directory, timeout=timeout)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(extra or {})}
    env.pop("KEEL_STATE_DIR", None)
    feed: dict[str, object] = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        [KEEL, *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **feed,  # type: ignore[call-overload]
    )


def sign_in(base: str, email: str) -> str:
    password = "correct-horse-battery-staple-42"
    answer = httpx.post(f"{base}/api/v1/auth/register", json={"email": email, "password": password,
                                                               "display_name": "Rotation Test"}, timeout=20)  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
    token: str = answer.json()["access_token"]
    return token


def signed_in(base: str, token: str) -> bool:
    answer = httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=20)
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def rotation_phase(directory: Path, secret: str) -> str | None:
    path = directory / ".keel" / "keel.db"
    if not path.exists():
        return None
    store = Store(path)
    try:
        found = RotationRecords(store, "bayit-secrets").history(secret, limit=1)
    finally:
        store.close()
    return found[0].phase.value if found else None


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, str]:
    port = free_port()
    directory = tmp_path / "project"
    directory.mkdir()
    write_project(directory, port, tmp_path / "keys" / "bayit.key")
    yield directory, f"http://127.0.0.1:{port}"
    keel("down", "--env", ENV, cwd=directory, timeout=60)


def test_rotations_keep_users_signed_in_and_survive_a_kill(project: tuple[Path, str]) -> None:
    directory, base = project
    key_file = directory.parent / "keys" / "bayit.key"
    first_key = secrets.token_urlsafe(48)
    assert run(directory, "secrets", "set", "jwt", stdin=first_key).returncode == 0
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert (
        run(directory, "secrets", "set", "openai", stdin="sk-first-openai-" + secrets.token_hex(8)).returncode
        == 0
    )
    deployed = run(directory, "deploy", "--env", ENV, "--format", "json")
    assert deployed.returncode == 0, deployed.stderr
    tokens = [sign_in(base, f"user{i}@example.com") for i in range(3)]
    assert all(signed_in(base, t) for t in tokens)

    rotated = run(directory, "secrets", "rotate", "jwt", "--format", "json")
    assert rotated.returncode == 0, rotated.stderr + rotated.stdout
    report = json.loads(rotated.stdout)
    assert report["rotation"]["phase"] == "grace"
    assert all(signed_in(base, t) for t in tokens), "a user was logged out by the JWT rotation"
    fresh = sign_in(base, "after@example.com")
    assert signed_in(base, fresh)

    # a rotation killed (SIGKILL) while its release runs, then resumed
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("KEEL_STATE_DIR", None)
    proc = subprocess.Popen(
        [KEEL, "secrets", "rotate", "openai"], cwd=directory, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(PLANTED_OPENAI)
    proc.stdin.close()
    deadline = time.monotonic() + 120
    while rotation_phase(directory, "openai") != "deploying" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rotation_phase(directory, "openai") == "deploying"
    time.sleep(0.5)  # inside the release: the new revision is starting
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.stdout is not None and proc.stderr is not None
    killed_out, killed_err = proc.stdout.read(), proc.stderr.read()
    assert rotation_phase(directory, "openai") == "deploying"
    with Store(directory / ".keel" / "keel.db") as store:
        assert store.active_rollout(ENV) is not None, "the kill did not land inside the release"
    resumed = run(directory, "secrets", "rotate", "openai", "--resume", "--format", "json")
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert json.loads(resumed.stdout)["rotation"]["phase"] == "done"
    assert all(signed_in(base, t) for t in [*tokens, fresh])
    assert httpx.get(f"{base}/health/deep", timeout=20).status_code == 200

    listed = run(directory, "secrets", "list", "--format", "json")
    rows = {row["name"]: row for row in json.loads(listed.stdout)["secrets"]}
    assert (
        rows["jwt"]["state"] == "grace" and rows["openai"]["state"] == "ok" and rows["openai"]["current"] == 2
    )
    assert run(directory, "secrets", "due").returncode == 0
    status = run(directory, "secrets", "status")
    assert "openai" in status.stdout and status.returncode == 0

    outputs = [rotated.stdout, rotated.stderr, resumed.stdout, resumed.stderr, listed.stdout, status.stdout,
               killed_out, killed_err]  # fmt: skip
    store_bytes = b"".join(p.read_bytes() for p in (directory / ".keel").glob("keel.db*"))
    for value in (PLANTED_OPENAI, first_key):
        assert not any(value in text for text in outputs)
        assert value.encode() not in store_bytes
        assert value.encode() not in (directory / ".keel" / "secrets.json").read_bytes()


@pytest.mark.postgres
def test_a_database_rotation_on_bayit_and_postgresql(tmp_path: Path, postgres_server: PostgresServer) -> None:
    """Bayit+ on PostgreSQL: the new login serves the released revision, users stay signed in, the old login is
    revoked after, and the service stays healthy throughout."""
    import uuid

    import psycopg

    tag = uuid.uuid4().hex[:8]
    name, group, password = f"bayit_{tag}", f"bayit_app_{tag}", secrets.token_urlsafe(24)
    postgres_server.psql(f"CREATE ROLE \"{group}\" LOGIN PASSWORD '{password}'")
    postgres_server.psql(f'CREATE DATABASE "{name}" OWNER "{group}"')
    hba = postgres_server.datadir / "pg_hba.conf"
    hba.write_text(
        f"host {name} postgres 127.0.0.1/32 trust\nhost {name} all 127.0.0.1/32 scram-sha-256\n"
        + hba.read_text()
    )
    postgres_server.psql("SELECT pg_reload_conf()")
    first_url = f"postgresql+asyncpg://{group}:{password}@127.0.0.1:{postgres_server.port}/{name}"

    port = free_port()
    directory = tmp_path / "project"
    directory.mkdir()
    items = (
        f"    database: {{type: database, env: DATABASE_URL, admin_env: KEEL_DB_ADMIN_URL, role: {group}}}\n"
    )
    items += "    jwt: {type: jwt, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, grace: 2h}\n"
    write_project(directory, port, tmp_path / "keys" / "bayit.key", items, database=True)
    base = f"http://127.0.0.1:{port}"
    admin = {"KEEL_DB_ADMIN_URL": postgres_server.url(name)}
    try:
        assert run(directory, "secrets", "set", "database", stdin=first_url).returncode == 0
        assert run(directory, "secrets", "set", "jwt", stdin=secrets.token_urlsafe(48)).returncode == 0
        deployed = run(directory, "deploy", "--env", ENV, "--format", "json")
        assert deployed.returncode == 0, deployed.stderr
        tokens = [sign_in(base, f"pg{i}@example.com") for i in range(2)]

        rotated = run(directory, "secrets", "rotate", "database", "--format", "json", extra=admin)
        assert rotated.returncode == 0, rotated.stderr + rotated.stdout
        rotation = json.loads(rotated.stdout)["rotation"]
        assert rotation["phase"] == "done" and any("revoked" in note for note in rotation["notes"])
        assert all(signed_in(base, t) for t in tokens)  # the users (rows in PostgreSQL) are still there
        assert httpx.get(f"{base}/health/deep", timeout=20).status_code == 200
        sign_in(base, "after-rotation@example.com")  # and the new login writes
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(first_url.replace("+asyncpg", ""), connect_timeout=5).close()
        active = postgres_server.psql(
            f"SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = '{name}' AND usename <> 'postgres'"
        ).split()
        assert active == [rotation["new_role"]], active
        assert password not in rotated.stdout + rotated.stderr
    finally:
        keel("down", "--env", ENV, cwd=directory, timeout=60)
