"""Security scanning in the local CI: bandit on the sources finds nothing of medium severity or higher (or
each such line is justified in place with ``# nosec BXXX: why``); the dependency audit, which needs the
vulnerability databases, is left to the GitHub workflow and says so here."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ci.workflows import ROOT, WORKFLOW_DIR, load, require

SOURCES = ("src/keel", "services/bayit/src")


def bandit(*targets: str, cwd: Path = ROOT) -> dict[str, Any]:
    """bandit with the repository's [tool.bandit] configuration, medium severity and up (-ll), as JSON."""
    require("bandit", importlib.util.find_spec("bandit"), "pip install 'bandit[toml]' (the dev extra)")
    out = subprocess.run(
        [sys.executable, "-m", "bandit", "-c", str(ROOT / "pyproject.toml"), "-r", *targets,
         "-ll", "-f", "json", "-q"],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr  # 1: findings; anything else is bandit failing
    report: dict[str, Any] = json.loads(out.stdout)
    assert report["errors"] == [], report["errors"]
    return report


def test_bandit_finds_nothing_of_medium_severity_or_higher_in_the_sources() -> None:
    report = bandit(*SOURCES)
    findings = [
        f"{r['filename']}:{r['line_number']}: {r['test_id']} ({r['issue_severity']}): {r['issue_text']}"
        for r in report["results"]
    ]
    hint = "justify each in place with `# nosec BXXX: why`, or fix it:\n"
    assert findings == [], hint + "\n".join(findings)
    assert report["metrics"]["_totals"]["loc"] > 1000  # it did read the sources


def test_bandit_as_configured_here_does_catch_a_medium_finding(tmp_path: Path) -> None:
    """The scan above can fail: the same configuration flags certificate checks turned off and a shell
    command built from input, and a bare # nosec without the reviewed id does not silence another check."""
    (tmp_path / "bad.py").write_text(
        "import subprocess\nimport httpx\n\n\n"
        "def fetch(url: str) -> object:\n    return httpx.get(url, verify=False)\n\n\n"
        "def run(name: str) -> object:\n"
        "    return subprocess.run('ls ' + name, shell=True)  # nosec B501: not the check that fires here\n"
    )
    found = {r["test_id"] for r in bandit(str(tmp_path / "bad.py"), cwd=tmp_path)["results"]}
    assert {"B501", "B602"} <= found, found


def test_the_github_security_job_runs_bandit_pip_audit_and_an_image_scanner() -> None:
    workflow = load(WORKFLOW_DIR / "ci.yml")
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps") or ()]
    runs = "\n".join(str(step.get("run", "")) for step in steps)
    assert "bandit" in runs
    assert "pip-audit" in runs and "requirements.lock" in runs
    assert any(str(step.get("uses", "")).startswith("aquasecurity/trivy-action@") for step in steps)


def test_pip_audit_of_the_lock_file() -> None:
    pytest.skip(
        "pip-audit SKIPPED: it needs the PyPI/OSV vulnerability databases, which cannot be reached from this "
        "build machine; the security job of .github/workflows/ci.yml runs it against requirements.lock"
    )
