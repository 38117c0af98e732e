"""The deploy workflows' own scripts, run the way a runner runs them with stand-ins for gcloud and keel:
production takes only an image staging promoted, and a cancelled job undoes only an unfinished rollout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci.workflows import ROOT, WORKFLOW_DIR, load

IMAGE = "us-east1-docker.pkg.dev/bayit-plus/bayit/bayit-plus-backend"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def step(workflow: str, job: str, name_part: str) -> dict[str, object]:
    found = [
        s for s in load(WORKFLOW_DIR / workflow)["jobs"][job]["steps"] if name_part in str(s.get("name", ""))
    ]
    assert len(found) == 1, name_part
    return found[0]


def stand_in(bin_dir: Path, name: str, body: str) -> None:
    """A program on PATH that logs its argv (one JSON line per call) and runs ``body`` (Python)."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"with open(os.environ['CALLS'], 'a') as f: f.write(json.dumps([{name!r}, *sys.argv[1:]]) + '\\n')\n"
        + body
    )
    path.chmod(0o755)


def run(tmp_path: Path, script: str, **env: str) -> tuple[int, str, list[list[str]], dict[str, str]]:
    calls, output = tmp_path / "calls.jsonl", tmp_path / "github_output"
    calls.touch()
    output.touch()
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KEEL_", "GITHUB_"))},
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(calls),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_SHA": COMMIT,
        "IMAGE": IMAGE,
        **env,
    }
    (tmp_path / "step.sh").write_text(script)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "step.sh")],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    pairs = (line.partition("=") for line in output.read_text().splitlines() if line)
    return (
        done.returncode,
        done.stdout + done.stderr,
        [json.loads(line) for line in calls.read_text().splitlines()],
        {k: v for k, _, v in pairs},
    )


# --- production: only an image promoted in staging ----------------------------------------------------------


def registry(tmp_path: Path, tags: dict[str, str]) -> None:
    """A gcloud that knows ``tags`` (tag -> digest) of IMAGE, answering `artifacts docker images describe`."""
    stand_in(
        tmp_path / "bin", "gcloud",
        f"tags = {tags!r}\n"
        "ref = sys.argv[sys.argv.index('describe') + 1]\n"
        "tag = ref.rpartition(':')[2]\n"
        "if tag not in tags: sys.exit('ERROR: (gcloud.artifacts.docker.images.describe) Image not found')\n"
        "print(tags[tag])\n",
    )  # fmt: skip


VERIFY = str(step("deploy-production.yml", "verify", "Resolve and verify")["run"])


def test_a_promoted_image_is_released_by_digest(tmp_path: Path) -> None:
    registry(tmp_path, {COMMIT: DIGEST, f"staging-promoted-{COMMIT}": DIGEST})
    code, log, calls, outputs = run(tmp_path, VERIFY, REQUIRED="true", COMMIT_INPUT="")
    assert code == 0, log
    assert outputs == {"image": f"{IMAGE}@{DIGEST}"}
    assert [c[:4] for c in calls] == [["gcloud", "artifacts", "docker", "images"]] * 2
    assert "was promoted in staging" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    "tags",
    [
        {COMMIT: DIGEST},  # never promoted in staging
        {COMMIT: DIGEST, f"staging-promoted-{COMMIT}": OTHER},  # staging promoted another build of the commit
    ],
)
def test_an_image_staging_did_not_promote_is_refused(tmp_path: Path, tags: dict[str, str]) -> None:
    registry(tmp_path, tags)
    code, log, _, outputs = run(tmp_path, VERIFY, REQUIRED="true", COMMIT_INPUT="")
    assert code == 1
    assert "was not promoted in staging" in log and "image" not in outputs


def test_without_the_requirement_any_built_image_is_released(tmp_path: Path) -> None:
    registry(tmp_path, {COMMIT: DIGEST})
    code, log, calls, outputs = run(tmp_path, VERIFY, REQUIRED="false", COMMIT_INPUT="")
    assert code == 0, log
    assert outputs == {"image": f"{IMAGE}@{DIGEST}"} and len(calls) == 1
    assert "does not require staging verification" in (tmp_path / "summary.md").read_text()


def test_a_commit_without_an_image_is_refused(tmp_path: Path) -> None:
    registry(tmp_path, {})
    code, log, _, outputs = run(tmp_path, VERIFY, REQUIRED="false", COMMIT_INPUT="")
    assert code == 1 and f"no image {IMAGE}:{COMMIT}" in log and not outputs


@pytest.mark.parametrize("commit", ["main", "0123abc", f"{COMMIT}; touch /tmp/x", COMMIT.upper()])
def test_the_commit_input_must_be_a_full_sha(tmp_path: Path, commit: str) -> None:
    registry(tmp_path, {COMMIT: DIGEST})
    code, log, calls, _ = run(tmp_path, VERIFY, REQUIRED="true", COMMIT_INPUT=commit)
    assert code == 2 and "full 40-character SHA" in log and calls == []


def test_a_manual_run_releases_the_commit_it_names(tmp_path: Path) -> None:
    other = "f" * 40
    registry(tmp_path, {other: OTHER, f"staging-promoted-{other}": OTHER})
    code, log, _, outputs = run(tmp_path, VERIFY, REQUIRED="true", COMMIT_INPUT=other)
    assert code == 0, log
    assert outputs == {"image": f"{IMAGE}@{OTHER}"}


# --- a cancelled job: undo only an unfinished rollout -------------------------------------------------------


def keel_planning(tmp_path: Path, action: str | None) -> None:
    plan = {"dry_run": True, "plan": {"action": action}, "exit_code": 0}
    stand_in(
        tmp_path / "bin", "keel",
        "if '--dry-run' in sys.argv:\n"
        f"    sys.exit('error: environment is locked') if {action is None!r} else print(json.dumps({plan!r}))\n",
    )  # fmt: skip


@pytest.mark.parametrize("workflow", ["deploy-staging.yml", "deploy-production.yml"])
@pytest.mark.parametrize(
    ("action", "rolls_back"), [("undo_interrupted", True), ("switch", False), (None, False)]
)
def test_a_cancelled_job_undoes_only_an_interrupted_rollout(
    tmp_path: Path, workflow: str, action: str | None, rolls_back: bool
) -> None:
    undo = step(workflow, "deploy", "Undo a rollout")
    assert undo["if"] == "cancelled()"
    keel_planning(tmp_path, action)
    code, log, calls, _ = run(tmp_path, str(undo["run"]))
    assert code == 0, log
    env = workflow.removeprefix("deploy-").removesuffix(".yml")
    assert calls[0] == [
        "keel",
        "rollback",
        "--env",
        env,
        "--file",
        "keel.yaml",
        "--dry-run",
        "--format",
        "json",
    ]
    # a finished release ("switch": keel rollback would go one more revision back) is left alone
    assert calls[1:] == (
        [["keel", "rollback", "--env", env, "--file", "keel.yaml", "--yes", "--format", "json"]]
        if rolls_back
        else []
    )
