"""The composite action's deploy and output steps, run the way a GitHub runner runs them (bash -eo pipefail,
GITHUB_OUTPUT, RUNNER_TEMP): outputs from keel's JSON, the job fails with keel's exit code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ci.workflows import ACTION, ROOT, load

STEPS = {step.get("id"): step for step in load(ACTION)["runs"]["steps"]}


def _expand(value: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        if expr.startswith("steps.deploy.outputs."):
            return outputs[expr.removeprefix("steps.deploy.outputs.")]
        raise AssertionError(f"unexpected expression {expr}")

    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, value)


def _outputs(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if line)
    return {key: value for key, _, value in pairs}


def run_action(tmp_path: Path, path_dirs: list[str], **given: str) -> tuple[int, dict[str, str], str]:
    """Run the `deploy` and `result` steps; return the job's exit code, the action's outputs and the log."""
    inputs = {"environment": "staging", "image": "", "keel-file": "keel.yaml", "args": "", **given}
    github_output = tmp_path / "github_output"
    github_output.touch()
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KEEL_", "GITHUB_"))},
        "PATH": os.pathsep.join([*path_dirs, os.environ["PATH"]]),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_OUTPUT": str(github_output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "KEEL_STATE_DIR": str(tmp_path / "state"),
    }
    log = ""
    deploy_outputs: dict[str, str] = {}
    code = 0
    for step_id in ("deploy", "result"):
        step = STEPS[step_id]
        env = {**base, **{k: _expand(str(v), inputs, deploy_outputs) for k, v in step["env"].items()}}
        script = tmp_path / f"{step_id}.sh"
        script.write_text(step["run"])
        # exactly how a runner runs `shell: bash`
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        log += done.stdout + done.stderr
        code = done.returncode
        if step_id == "deploy":
            assert code == 0, f"the deploy step must not fail by itself: {log}"
            deploy_outputs = _outputs(github_output)
    outputs = _outputs(github_output)
    return (
        code,
        {k: outputs[k] for k in ("revision", "outcome", "rolled-back", "exit-code") if k in outputs},
        log,
    )


@pytest.fixture
def fake_keel(tmp_path: Path) -> Path:
    """A `keel` that records its arguments and prints the result given in FAKE_KEEL_RESULT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    keel = bin_dir / "keel"
    keel.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "with open(os.environ['FAKE_KEEL_ARGV'], 'w') as f: json.dump(sys.argv[1:], f)\n"
        "sys.stdout.write(os.environ.get('FAKE_KEEL_RESULT', ''))\n"
        "sys.exit(int(os.environ.get('FAKE_KEEL_EXIT', '0')))\n"
    )
    keel.chmod(0o755)
    return bin_dir


def result(phase: str, exit_code: int, rollback: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {"schema": "keel.rollout/v1", "revision": "bayit-plus-backend-00042-abc", "phase": phase,
         "reason": f"it was {phase}", "rollback": rollback, "exit_code": exit_code}
    )  # fmt: skip


def test_a_promotion_sets_the_outputs_and_passes(
    tmp_path: Path, fake_keel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KEEL_ARGV", str(tmp_path / "argv.json"))
    monkeypatch.setenv("FAKE_KEEL_RESULT", result("promoted", 0))
    code, outputs, log = run_action(
        tmp_path, [str(fake_keel)], image="reg/img@sha256:abc",
        args="--set 'SENTRY_RELEASE=abc 123' --set X=$(touch /tmp/pwned)",
    )  # fmt: skip
    assert code == 0, log
    assert outputs == {
        "revision": "bayit-plus-backend-00042-abc", "outcome": "promoted", "rolled-back": "false", "exit-code": "0"
    }  # fmt: skip
    argv = json.loads((tmp_path / "argv.json").read_text())
    # extra arguments are split like a shell would, but nothing in them is expanded or run
    assert argv == [
        "deploy", "--env", "staging", "--file", "keel.yaml", "--image", "reg/img@sha256:abc", "--format", "json",
        "--set", "SENTRY_RELEASE=abc 123", "--set", "X=$(touch", "/tmp/pwned)",
    ]  # fmt: skip
    assert "::notice title=keel release::keel deploy: promoted" in log


def test_a_rollback_fails_the_job_with_keels_exit_code(
    tmp_path: Path, fake_keel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KEEL_ARGV", str(tmp_path / "argv.json"))
    monkeypatch.setenv("FAKE_KEEL_RESULT", result("rolled_back", 1, {"target": "rev-41", "verified": True}))
    monkeypatch.setenv("FAKE_KEEL_EXIT", "1")
    code, outputs, log = run_action(tmp_path, [str(fake_keel)])
    assert code == 1
    assert (
        outputs["outcome"] == "rolled_back"
        and outputs["rolled-back"] == "true"
        and outputs["exit-code"] == "1"
    )
    assert "::error title=keel release::keel deploy: rolled_back (it was rolled_back), exit 1" in log
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert "--image" not in argv  # no image input: keel.yaml's


def test_the_real_keel_refusing_bad_input_is_an_error_outcome(tmp_path: Path) -> None:
    keel = shutil.which("keel")
    if keel is None:
        pytest.skip("keel is not installed on PATH")
    code, outputs, log = run_action(tmp_path, [str(Path(keel).parent)], environment="no-such-env")
    assert code == 2, log
    assert outputs == {"revision": "", "outcome": "error", "rolled-back": "false", "exit-code": "2"}
    assert "no environment 'no-such-env'" in log
    assert "::error title=keel release::keel deploy ended without a result (exit 2)" in log
