"""keel secrets on Cloud Run (the emulator) with Secret Manager (the local server), on the real Bayit+ API:
each rotation adds a Secret Manager version and releases, through the gated deploy, a revision whose env
references that version by number (never the value, never ``latest``). JWT: users signed in before stay
signed in, the old key is retired after the grace window; a revision that cannot read its version rolls the
rotation back; a SIGKILLed rotation resumes; no value reaches the service JSON, keel's store or the output."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from keel.emulators.cloudrun.config import EmulatorConfig
from keel.emulators.cloudrun.server import Emulator, running
from keel.emulators.secretmanager.server import running as secret_manager
from keel.secrets.backends.base import CURRENT, VersionState
from keel.secrets.backends.gcp import SecretManagerBackend
from keel.secrets.config import GcpBackendConfig
from keel.secrets.state import RotationPhase
from keel.spec import load_spec
from keel.store import Store
from tests.keel.cli.releases import KEEL, keel
from tests.keel.secrets.test_cli import rotation_phase, run, sign_in, signed_in
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.slow

ENV = "cloud"
SERVICE = "bayit-secrets"  # keel's service name: the store's rotation records are kept under it
CLOUD_SERVICE = "bayit-secrets-run"
PROJECT = "bayit-plus"
BAYIT = (str(Path(sys.executable).parent / "bayit"), "serve", "--seed", "--host", "127.0.0.1")
PLANTED_OPENAI = "sk-planted-cloudrun-" + secrets.token_hex(16)
GRACE = 6.0


@dataclass
class Project:
    directory: Path
    emulator: Emulator
    backend: SecretManagerBackend
    base: str
    first_key: str

    def service(self) -> run_v2.Service:
        client = run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                       client_options={"api_endpoint": self.emulator.url})  # fmt: skip
        return client.get_service(name=f"projects/{PROJECT}/locations/us-east1/services/{CLOUD_SERVICE}")

    def refs(self) -> dict[str, tuple[str, str]]:
        """The serving revision's secret references: variable -> (secret, version)."""
        (serving,) = self.serving()
        client = run_v2.RevisionsClient(transport="rest", credentials=AnonymousCredentials(),
                                        client_options={"api_endpoint": self.emulator.url})  # fmt: skip
        parent = f"projects/{PROJECT}/locations/us-east1/services/{CLOUD_SERVICE}"
        env = client.get_revision(name=f"{parent}/revisions/{serving}").containers[0].env
        return {e.name: (e.value_source.secret_key_ref.secret, e.value_source.secret_key_ref.version)
                for e in env if e.value_source.secret_key_ref.secret}  # fmt: skip

    def serving(self) -> dict[str, int]:
        statuses = self.service().traffic_statuses
        return {s.revision.rsplit("/", 1)[-1]: s.percent for s in statuses if s.percent}

    def values(self) -> list[str]:
        """Every value Secret Manager holds (destroyed ones are gone)."""
        out = []
        for name in self.backend.names():
            info = self.backend.describe(name)
            assert info is not None
            out += [
                self.backend.access(name, v.version) for v in info.versions if v.state is VersionState.ENABLED
            ]
        return out


ITEMS = f"""\
    jwt: {{type: jwt, id: bayit-secret-key, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, grace: {GRACE:g}s}}
    openai: {{type: openai, id: bayit-openai-api-key, env: OPENAI_API_KEY}}
"""


def write_project(
    directory: Path, emulator: str, sm_host: str, items: str = ITEMS, database: bool = False
) -> None:
    env = {"ENVIRONMENT": "development", "LOG_LEVEL": "WARNING"}
    if not database:
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{directory / 'bayit.db'}"
    (directory / "keel.yaml").write_text(
        f"""service: {SERVICE}
environments:
  {ENV}:
    platform: cloudrun
    project: {PROJECT}
    region: us-east1
    service: {CLOUD_SERVICE}
    image: bayit:1
    api_endpoint: {emulator}
    env: {json.dumps(env)}
    secrets: {{SECRET_KEY: "bayit-secret-key:latest"}}
probes: {{startup: {{timeout: 2s, period: 2s, failure_threshold: 45}}}}
gates:
  health: {{path: /health/ready, passes: 2, deadline: 90s, interval: 0.5s}}
  smoke:
    - {{path: /api/v1/users/me, status: 401}}
strategy: direct
rollback: {{passes: 2, deadline: 30s, interval: 0.25s}}
secrets:
  backend: {{type: gcp, project: {PROJECT}, endpoint: "{sm_host}"}}
  verify: /health/deep
  items:
{items}"""
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    directory = tmp_path_factory.mktemp("secrets-cloudrun")
    with secret_manager() as host:
        config = EmulatorConfig(images={"bayit:1": BAYIT}, secret_manager=host, ingestion_delay=1.0,
                                state_dir=str(directory.parent / f"{directory.name}-emulator"))  # fmt: skip
        with running(config) as emulator:
            write_project(directory, emulator.url, host)
            backend = SecretManagerBackend.from_config(
                GcpBackendConfig(type="gcp", project=PROJECT, endpoint=host)
            )
            first_key = secrets.token_urlsafe(48)
            assert run(directory, "secrets", "set", "jwt", stdin=first_key).returncode == 0
            openai = run(
                directory, "secrets", "set", "openai", stdin="sk-first-openai-" + secrets.token_hex(8)
            )
            assert openai.returncode == 0, openai.stderr
            deployed = run(directory, "deploy", "--env", ENV, "--format", "json")
            assert deployed.returncode == 0, deployed.stderr + deployed.stdout
            base = emulator.runtime.service_url(CLOUD_SERVICE)
            yield Project(directory, emulator, backend, base, first_key)


def test_the_first_deploy_pins_each_secret_to_its_current_version(project: Project) -> None:
    planned = run(project.directory, "secrets", "rotate", "openai", "--dry-run")
    assert planned.returncode == 0 and "secretKeyRef to the version's number" in planned.stdout
    assert project.refs() == {
        "SECRET_KEY": ("bayit-secret-key", "1"),
        "OPENAI_API_KEY": ("bayit-openai-api-key", "1"),
    }


def test_a_jwt_rotation_keeps_users_signed_in_then_retires_the_old_key(project: Project) -> None:
    directory, base = project.directory, project.base
    tokens = [sign_in(base, f"cloud{i}@example.com") for i in range(3)]
    rotated = run(directory, "secrets", "rotate", "jwt", "--format", "json")
    assert rotated.returncode == 0, rotated.stderr + rotated.stdout
    assert json.loads(rotated.stdout)["rotation"]["phase"] == "grace"
    refs = project.refs()
    assert refs["SECRET_KEY"] == ("bayit-secret-key", "2") and refs["SECRET_KEY_OLD"] == (
        "bayit-secret-key",
        "1",
    )
    assert all(signed_in(base, t) for t in tokens), "a user was logged out by the JWT rotation"
    fresh = sign_in(base, "cloud-after@example.com")

    time.sleep(GRACE + 0.5)
    retired = run(directory, "secrets", "rotate", "jwt", "--resume", "--format", "json")
    assert retired.returncode == 0, retired.stderr + retired.stdout
    assert json.loads(retired.stdout)["rotation"]["phase"] == "done"
    assert "SECRET_KEY_OLD" not in project.refs() and project.refs()["SECRET_KEY"] == (
        "bayit-secret-key",
        "2",
    )
    info = project.backend.describe("bayit-secret-key")
    assert info is not None and info.aliases[CURRENT] == 2
    assert info.version(1) is not None and info.version(1).state is VersionState.DISABLED  # type: ignore[union-attr]
    assert signed_in(base, fresh) and not any(signed_in(base, t) for t in tokens)  # tokens of the old key end

    service_json = run_v2.Service.to_json(project.service())
    texts = [rotated.stdout, rotated.stderr, retired.stdout, retired.stderr, service_json]
    for value in [project.first_key, *project.values()]:
        assert not any(value in text for text in texts)
        assert value.encode() not in store_bytes(directory)


def store_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (directory / ".keel").rglob("*") if p.is_file())


def test_a_revision_that_cannot_read_its_version_rolls_the_rotation_back(project: Project) -> None:
    """The new version is disabled while the release starts (as if the runtime's service account could not
    read it): Cloud Run keeps the revision unready, the release rolls back, the rotation destroys the version."""
    from keel.secrets.wiring import rotator, secrets_parts

    spec = load_spec(project.directory / "keel.yaml")
    before_serving = project.serving()
    before_refs = project.refs()
    token = sign_in(project.base, "cloud-rollback@example.com")

    def disable_new_version(rotation: object, why: str) -> None:
        phase = getattr(rotation, "phase")
        if phase is RotationPhase.DEPLOYING:
            project.backend.set_state(
                "bayit-openai-api-key", getattr(rotation, "new_version"), VersionState.DISABLED
            )

    cwd = os.getcwd()
    os.chdir(project.directory)
    try:
        with secrets_parts(spec) as parts:
            worker = rotator(spec, ENV, parts, on_step=disable_new_version)
            final = asyncio.run(worker.run(worker.begin("openai", "sk-never-served-" + secrets.token_hex(8))))
    finally:
        os.chdir(cwd)
    assert final.phase is RotationPhase.ROLLED_BACK, final.reason
    assert "DISABLED state" in final.reason  # Cloud Run's reason reaches the rotation's record
    assert project.serving() == before_serving and project.refs() == before_refs
    info = project.backend.describe("bayit-openai-api-key")
    assert info is not None and info.aliases[CURRENT] == 1
    assert info.latest is not None and info.latest.state is VersionState.DESTROYED
    assert signed_in(project.base, token)


def test_a_killed_api_key_rotation_resumes_and_disables_the_old_version(project: Project) -> None:
    directory = project.directory
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
    killed = proc.stdout.read() + proc.stderr.read()
    with Store(directory / ".keel" / "keel.db") as store:
        assert store.active_rollout(ENV) is not None, "the kill did not land inside the release"
    resumed = run(directory, "secrets", "rotate", "openai", "--resume", "--format", "json")
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert json.loads(resumed.stdout)["rotation"]["phase"] == "done"
    info = project.backend.describe("bayit-openai-api-key")
    assert info is not None
    new = info.aliases[CURRENT]
    assert project.refs()["OPENAI_API_KEY"] == ("bayit-openai-api-key", str(new))
    assert project.backend.access("bayit-openai-api-key", new) == PLANTED_OPENAI
    assert info.version(1) is not None and info.version(1).state is VersionState.DISABLED  # type: ignore[union-attr]

    listed = run(directory, "secrets", "list", "--format", "json")
    texts = [killed, resumed.stdout, resumed.stderr, listed.stdout, run_v2.Service.to_json(project.service())]
    assert not any(PLANTED_OPENAI in text for text in texts)
    assert PLANTED_OPENAI.encode() not in store_bytes(directory)
    keel("secrets", "status", cwd=directory)


@pytest.mark.postgres
def test_a_database_rotation_on_cloud_run_revokes_the_old_login(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    """DATABASE_URL from Secret Manager by version: the revision released with the new version connects as the
    new login role, users stay, the old login is revoked after."""
    import uuid

    import psycopg

    tag = uuid.uuid4().hex[:8]
    name, group, password = f"bayitcr_{tag}", f"bayitcr_app_{tag}", secrets.token_urlsafe(24)
    postgres_server.psql(f"CREATE ROLE \"{group}\" LOGIN PASSWORD '{password}'")
    postgres_server.psql(f'CREATE DATABASE "{name}" OWNER "{group}"')
    hba = postgres_server.datadir / "pg_hba.conf"
    hba.write_text(
        f"host {name} postgres 127.0.0.1/32 trust\nhost {name} all 127.0.0.1/32 scram-sha-256\n"
        + hba.read_text()
    )
    postgres_server.psql("SELECT pg_reload_conf()")
    first_url = f"postgresql+asyncpg://{group}:{password}@127.0.0.1:{postgres_server.port}/{name}"
    items = (
        f"    database: {{type: database, id: bayit-database-url, env: DATABASE_URL, admin_env: KEEL_DB_ADMIN_URL, "
        f"role: {group}}}\n"
        "    jwt: {type: jwt, id: bayit-secret-key, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, grace: 2h}\n"
    )
    directory = tmp_path / "project"
    directory.mkdir()
    admin = {"KEEL_DB_ADMIN_URL": postgres_server.url(name)}
    with secret_manager() as host:
        config = EmulatorConfig(images={"bayit:1": BAYIT}, secret_manager=host, ingestion_delay=1.0,
                                state_dir=str(tmp_path / "emulator"))  # fmt: skip
        with running(config) as emulator:
            write_project(directory, emulator.url, host, items, database=True)
            assert run(directory, "secrets", "set", "database", stdin=first_url).returncode == 0
            assert run(directory, "secrets", "set", "jwt", stdin=secrets.token_urlsafe(48)).returncode == 0
            deployed = run(directory, "deploy", "--env", ENV, "--format", "json")
            assert deployed.returncode == 0, deployed.stderr + deployed.stdout
            base = emulator.runtime.service_url(CLOUD_SERVICE)
            tokens = [sign_in(base, f"crpg{i}@example.com") for i in range(2)]

            rotated = run(directory, "secrets", "rotate", "database", "--format", "json", extra=admin)
            assert rotated.returncode == 0, rotated.stderr + rotated.stdout
            rotation = json.loads(rotated.stdout)["rotation"]
            assert rotation["phase"] == "done" and any("revoked" in note for note in rotation["notes"])
            assert all(signed_in(base, t) for t in tokens)
            sign_in(base, "crpg-after@example.com")  # the new login writes
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(first_url.replace("+asyncpg", ""), connect_timeout=5).close()
            active = postgres_server.psql(
                f"SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = '{name}' AND usename <> 'postgres'"
            ).split()
            assert active == [rotation["new_role"]], active
            assert password not in rotated.stdout + rotated.stderr
            assert password.encode() not in store_bytes(directory)
