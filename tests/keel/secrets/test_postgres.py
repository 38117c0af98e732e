"""The database rotation against a real PostgreSQL: a new login role with a new password serves the released
revision, the old role is revoked only after that, and a rollback drops the new role."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from keel.secrets.backends.base import CURRENT
from keel.secrets.errors import SecretsError
from keel.secrets.postgres import PostgresCredentials
from keel.secrets.state import RotationPhase
from tests.keel.secrets.rig import RotationRig
from tests.support.postgres import PostgresServer

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.postgres


@pytest.fixture
def database(postgres_server: PostgresServer) -> tuple[str, str]:
    """A database owned by group role app_<id> with a login role (password checked: scram for this database)."""
    tag = uuid.uuid4().hex[:8]
    name, group = f"rot_{tag}", f"app_{tag}"
    server = postgres_server
    server.psql(f"CREATE ROLE \"{group}\" LOGIN PASSWORD 'first-password-{tag}'")
    server.psql(f'CREATE DATABASE "{name}" OWNER "{group}"')
    server.psql("CREATE TABLE items (id int)", database=name)
    server.psql(f'ALTER TABLE items OWNER TO "{group}"', database=name)
    hba = server.datadir / "pg_hba.conf"
    rules = f"host {name} postgres 127.0.0.1/32 trust\nhost {name} all 127.0.0.1/32 scram-sha-256\n"
    hba.write_text(rules + hba.read_text())
    server.psql("SELECT pg_reload_conf()")
    url = f"postgresql://{group}:first-password-{tag}@127.0.0.1:{server.port}/{name}"
    return url, group


def connects(url: str) -> bool:
    try:
        with psycopg.connect(url.replace("+asyncpg", ""), connect_timeout=5) as conn:
            conn.execute("INSERT INTO items VALUES (1)")  # privileges come from the group role
        return True
    except psycopg.OperationalError:
        return False


def rig_for(tmp_path: Path, postgres_server: PostgresServer, url: str, group: str) -> RotationRig:
    spec = f"""\
service: svc
environments:
  test: {{platform: memory}}
strategy: direct
secrets:
  items:
    database: {{type: database, env: DATABASE_URL, admin_env: ADMIN_URL, role: {group}}}
"""
    rig = RotationRig(tmp_path, spec)
    admin = postgres_server.url(url.rsplit("/", 1)[1])
    item = rig.spec.secrets.items["database"]
    rig.credentials = PostgresCredentials(item, environ={"ADMIN_URL": admin})  # type: ignore[assignment]
    rig.serve_first_revision(database=url)

    async def verify(url: str) -> tuple[bool, str]:  # the service's deep health: its database answers
        rig.faults.hit("verify")
        env = rig.platform.envs[url.split("//", 1)[1].split(".", 1)[0]]
        ok = await asyncio.to_thread(connects, env["DATABASE_URL"])
        return ok, "200" if ok else "HTTP 503: database"

    rig.verifier.verify = verify  # type: ignore[method-assign]
    return rig


def test_a_new_role_serves_before_the_old_one_is_revoked(
    tmp_path: Path, postgres_server: PostgresServer, database: tuple[str, str]
) -> None:
    url, group = database
    rig = rig_for(tmp_path, postgres_server, url, group)
    assert connects(url)
    rotator = rig.rotator()
    final = asyncio.run(rotator.run(rotator.begin("database")))
    assert final.phase is RotationPhase.DONE, final.reason
    new_url = rig.file_backend.access("database", CURRENT)
    assert new_url != url and rig.platform.envs[rig.serving()]["DATABASE_URL"] == new_url
    assert connects(new_url)
    assert not connects(url), "the old login still works after the rotation"
    wrong = new_url.replace(new_url.split(":")[2].split("@")[0], "wrong-password")
    assert not connects(wrong), "the server does not check passwords: the test proves nothing"
    # and once more: the first rotated role is revoked in turn
    rotator = rig.rotator()
    assert asyncio.run(rotator.run(rotator.begin("database"))).phase is RotationPhase.DONE
    assert connects(rig.file_backend.access("database", CURRENT)) and not connects(new_url)


def test_a_failed_verification_drops_the_new_role_and_keeps_the_old(
    tmp_path: Path, postgres_server: PostgresServer, database: tuple[str, str]
) -> None:
    url, group = database
    rig = rig_for(tmp_path, postgres_server, url, group)
    rig.faults.at["verify"] = SecretsError("deep health: 503")
    rotator = rig.rotator()
    final = asyncio.run(rotator.run(rotator.begin("database")))
    assert final.phase is RotationPhase.ROLLED_BACK
    assert connects(url)
    roles = postgres_server.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{final.new_role}'")
    assert roles.strip() == "0"
    rig.assert_settled("database")
