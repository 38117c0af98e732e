"""The demo's keel.yaml is valid, keeps secrets out of the world-readable bits, and shortens the holds."""

from __future__ import annotations

import stat
from pathlib import Path

from keel.demo.project import write_project
from keel.platforms.local.config import LocalConfig
from keel.spec import load_spec


def test_project_is_a_valid_spec(tmp_path: Path) -> None:
    project = write_project(tmp_path / "demo", port=18099, hold=12)
    spec = load_spec(project.spec_file)
    env = spec.environment("demo")
    assert isinstance(env, LocalConfig) and env.port == 18099
    assert env.env["DATABASE_URL"].endswith(str(project.directory / "bayit.db"))
    assert len(env.env["SECRET_KEY"]) >= 32
    assert [(s.weight, s.hold) for s in spec.strategy.steps()] == [(10, 12), (50, 8), (100, 0)]
    assert stat.S_IMODE(project.spec_file.stat().st_mode) == 0o600
    assert project.router_url == "http://127.0.0.1:18099"
