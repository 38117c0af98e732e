"""``keel dashboard export``: JSON on stdout or in a file, the same as the library renders; bad input is exit 2
naming file:line: key, and writes nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from keel.cli.app import main

SPEC = """\
service: bayit
environments:
  local: {platform: local, run: [bayit, serve], port: 8080}
  production: {platform: cloudrun, project: p, region: us-east1, service: bayit-prod}
alerts:
  signals: {selector: {job: bayit}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("KEEL_ENV", "KEEL_FILE", "KEEL_DASHBOARD_TARGET", "KEEL_DASHBOARD_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "keel.yaml").write_text(SPEC)
    return tmp_path


def keel(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["keel", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_grafana_on_stdout_for_production_by_default(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = keel(monkeypatch, capsys, "dashboard", "export")
    assert code == 0
    doc = json.loads(out)
    assert doc["title"] == "bayit (production): keel" and doc["schemaVersion"] >= 41
    assert any('{job="bayit"}' in t["expr"] for p in doc["panels"] for t in p.get("targets", ()))


def test_cloudmonitoring_to_a_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEEL_DASHBOARD_TARGET", "cloudmonitoring")
    code, out, err = keel(
        monkeypatch,
        capsys,
        "dashboard",
        "export",
        "--spec",
        "keel.yaml",
        "--env",
        "local",
        "-o",
        "dashboards/cm.json",
    )
    assert code == 0 and out == ""
    doc = json.loads((project / "dashboards" / "cm.json").read_text())
    assert doc["labels"] == {"managed_by": "keel", "service": "bayit", "environment": "local"}
    assert "wrote dashboards/cm.json (cloudmonitoring, local)" in err


def test_bad_input_is_exit_2_and_writes_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = keel(monkeypatch, capsys, "dashboard", "export", "-t", "nagios", "-o", "x.json")
    assert code == 2 and "unknown dashboard target 'nagios' (known: grafana, cloudmonitoring)" in err
    code, _, err = keel(monkeypatch, capsys, "dashboard", "export", "--env", "staging", "-o", "x.json")
    assert code == 2 and "no environment 'staging' (known: local, production)" in err
    (project / "keel.yaml").write_text(SPEC + "slos:\n  availability: {objective: 120}\n")
    code, _, err = keel(monkeypatch, capsys, "dashboard", "export", "-o", "x.json")
    assert code == 2 and "keel.yaml:8: slos.availability.objective: Input should be less than 100" in err
    assert not (project / "x.json").exists()
