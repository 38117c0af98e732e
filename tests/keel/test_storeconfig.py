"""keel.yaml's store key: a SQLite path or a PostgreSQL URL, checked on load; passwords only from variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.errors import ConfigError
from keel.spec import load_spec
from keel.storeconfig import PostgresLocation, SqliteLocation, StoreSpec, redact, resolve
from keel.yamlfile import SpecError

BASE = """\
service: demo-svc
environments:
  local: {platform: local, run: [python, -m, http.server], port: 8080}
"""


def spec_with(tmp_path: Path, store: str) -> StoreSpec:
    path = tmp_path / "keel.yaml"
    path.write_text(BASE + store)
    return load_spec(path).store


def problems(tmp_path: Path, store: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        spec_with(tmp_path, store)
    return [str(p) for p in info.value.problems]


def test_default_is_the_sqlite_file_in_the_state_directory(tmp_path: Path) -> None:
    store = spec_with(tmp_path, "")
    default = tmp_path / ".keel" / "keel.db"
    assert resolve(store, tmp_path, default, environ={}) == SqliteLocation(default)
    assert store.lock_ttl == 45


def test_sqlite_urls_are_relative_to_keel_yaml_or_absolute(tmp_path: Path) -> None:
    relative = spec_with(tmp_path, "store: sqlite:///state/keel.db\n")
    assert resolve(relative, tmp_path, tmp_path / "x", environ={}) == SqliteLocation(
        tmp_path / "state/keel.db"
    )
    absolute = spec_with(tmp_path, "store: sqlite:////var/lib/keel/keel.db\n")
    assert resolve(absolute, tmp_path, tmp_path / "x", environ={}) == SqliteLocation(
        Path("/var/lib/keel/keel.db")
    )


def test_postgres_password_comes_from_the_named_variable(tmp_path: Path) -> None:
    store = spec_with(
        tmp_path,
        "store:\n  url: postgresql://keel@db.internal:6543/keel\n  password_env: KEEL_STORE_PASSWORD\n"
        "  lock_ttl: 1m\n",
    )
    assert store.lock_ttl == 60
    location = resolve(store, tmp_path, tmp_path / "x", environ={"KEEL_STORE_PASSWORD": "s3cret"})
    assert location == PostgresLocation("postgresql://keel@db.internal:6543/keel", "s3cret")
    assert location.display == "postgresql://keel@db.internal:6543/keel"
    with pytest.raises(ConfigError, match="KEEL_STORE_PASSWORD is not set"):
        resolve(store, tmp_path, tmp_path / "x", environ={})


def test_keel_store_url_overrides_the_file_and_is_never_shown_with_its_password(tmp_path: Path) -> None:
    store = spec_with(tmp_path, "store: sqlite:///state/keel.db\n")
    url = "postgresql+psycopg://ci:pa55word@10.0.0.5/keel?sslmode=require"
    location = resolve(store, tmp_path, tmp_path / "x", environ={"KEEL_STORE_URL": url})
    assert isinstance(location, PostgresLocation)
    assert location.conninfo == "postgresql://ci:pa55word@10.0.0.5/keel?sslmode=require"
    assert location.display == "postgresql://ci@10.0.0.5/keel"
    assert "pa55word" not in redact(f"connection to {url} failed: pa55word", location)


def test_a_password_in_keel_yaml_is_refused_naming_line_and_key(tmp_path: Path) -> None:
    found = problems(tmp_path, "store:\n  url: postgresql://keel:hunter2@db/keel\n")
    assert len(found) == 1 and "keel.yaml:5: store.url:" in found[0] and "password_env" in found[0]
    assert "hunter2" not in found[0]


@pytest.mark.parametrize(
    ("store", "key", "message"),
    [
        ("store: mysql://db/keel\n", "store.url", "unsupported store URL scheme 'mysql'"),
        ("store: sqlite://keel.db\n", "store.url", "sqlite:///relative/path"),
        ("store: {url: 'postgresql://db/k', password_env: 'not a name'}\n", "store.password_env", ""),
        ("store: {url: 'postgresql://db/k', lock_ttl: 1s}\n", "store.lock_ttl", ""),
        ("store: {url: 'postgresql://db/k', ttl: 5s}\n", "store.ttl", "unknown key"),
    ],
)
def test_bad_store_settings_are_refused(tmp_path: Path, store: str, key: str, message: str) -> None:
    found = problems(tmp_path, store)
    assert len(found) == 1 and f"keel.yaml:4: {key}:" in found[0] and message in found[0], found


def test_a_keel_store_url_with_its_own_password_needs_no_password_variable(tmp_path: Path) -> None:
    store = spec_with(tmp_path, "store: {url: 'postgresql://keel@db/k', password_env: KEEL_STORE_PASSWORD}\n")
    url = "postgresql://ci:inline@db/k"
    assert resolve(store, tmp_path, tmp_path, environ={"KEEL_STORE_URL": url}) == PostgresLocation(url, None)


def test_keel_deploy_with_an_unreachable_store_exits_1_without_the_password(tmp_path: Path) -> None:
    from tests.keel.cli.releases import keel
    from tests.support.postgres import free_port

    (tmp_path / "keel.yaml").write_text(
        BASE + f"store: {{url: 'postgresql://keel@127.0.0.1:{free_port()}/keel', password_env: PW}}\n"
    )
    proc = keel("deploy", cwd=tmp_path, env={"PW": "hunter2-secret"})
    assert proc.returncode == 1, proc.stderr
    assert (
        "error: state store postgresql://keel@127.0.0.1:" in proc.stderr and "cannot connect" in proc.stderr
    )
    assert "hunter2" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert not (tmp_path / ".keel").exists()
    missing = keel("deploy", cwd=tmp_path)
    assert (
        missing.returncode == 2
        and "store.password_env: the environment variable PW is not set" in missing.stderr
    )
