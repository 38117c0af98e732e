"""keel secrets' commands in-process (Click's runner): bad input is exit 2 with nothing changed, due is exit 1,
a dry run creates nothing, values come from stdin and are never printed."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keel.cli.app import app
from keel.errors import KeelError

SPEC = """\
service: svc
environments:
  local: {platform: memory}
secrets:
  items:
    jwt: {type: jwt, env: SECRET_KEY, previous_env: SECRET_KEY_OLD, every: 90d}
    openai: {type: openai, env: OPENAI_API_KEY, every: 90d}
"""
PLANTED = "sk-planted-cli-3c2b1a0f9e8d"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "p"
    directory.mkdir()
    (directory / "keel.yaml").write_text(SPEC)
    monkeypatch.chdir(directory)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("KEEL_SECRETS_KEY", raising=False)
    monkeypatch.delenv("KEEL_STATE_DIR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return directory


def keel(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """Exit code and output as ``keel.cli.app.main`` gives them (a KeelError: its message and exit code)."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    if isinstance(result.exception, KeelError):
        return result.exception.exit_code, result.output + str(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_set_list_and_due(project: Path) -> None:
    code, out = keel("secrets", "due", "--format", "json")
    assert code == 1, out  # nothing stored yet: both are due
    assert sorted(json.loads(out)["due"]) == ["jwt", "openai"]
    assert keel("secrets", "set", "openai", stdin=PLANTED + "\n")[0] == 0
    assert keel("secrets", "set", "jwt", stdin="k" * 48)[0] == 0
    code, out = keel("secrets", "list", "--format", "json")
    rows = {r["name"]: r for r in json.loads(out)["secrets"]}
    assert (
        rows["openai"]["current"] == 1 and rows["openai"]["state"] == "ok" and rows["openai"]["age_days"] == 0
    )
    code, out = keel("secrets", "due")
    assert code == 0 and "no secret is due" in out
    code, out = keel("secrets", "list")
    assert code == 0 and "openai" in out and PLANTED not in out
    stored = (project / ".keel" / "secrets.json").read_text()
    assert PLANTED not in stored
    key_file = project.parent / "config" / "keel" / "keys" / "svc.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_bad_input_is_exit_2_and_changes_nothing(project: Path) -> None:
    assert keel("secrets", "set", "nope", stdin="x")[0] == 2
    code, out = keel("secrets", "rotate", "openai", stdin="")
    assert code == 2 and "empty" in out
    assert keel("secrets", "rotate", "jwt", "--resume", "--abort")[0] == 2
    assert keel("secrets", "rotate", "jwt", "--resume", "--no-grace")[0] == 2
    assert keel("secrets", "rotate", "jwt", "--env", "elsewhere")[0] == 2
    assert not (project / ".keel").exists()


def test_a_jwt_rotation_needs_the_key_in_service_first(project: Path) -> None:
    code, out = keel("secrets", "rotate", "jwt")
    assert code == 2 and "keel secrets set jwt" in out


def test_a_dry_run_lists_the_steps_and_creates_nothing(project: Path) -> None:
    code, out = keel("secrets", "rotate", "jwt", "--dry-run")
    assert code == 0 and "dry run" in out and "SECRET_KEY_OLD" in out
    assert not (project / ".keel").exists() and not (project.parent / "config").exists()


def test_the_key_from_the_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_SECRETS_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    assert keel("secrets", "set", "openai", stdin=PLANTED)[0] == 0
    assert not (project.parent / "config").exists()  # no key file made
    monkeypatch.setenv("KEEL_SECRETS_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    code, out = keel("secrets", "rotate", "openai", stdin="sk-new-value-123456")
    assert code == 1 and "cannot be decrypted" in out and PLANTED not in out
