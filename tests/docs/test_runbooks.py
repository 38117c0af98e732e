"""The runbooks in docs/runbooks/ cannot drift from the tool: every command in their ```sh blocks is a keel
command line that keel's own CLI parser accepts, or a program that exists here (or a named external tool)."""

from __future__ import annotations

import re
import shlex
import shutil

import pytest

from tests.ci.test_workflows import CLICK, parse_keel
from tests.ci.workflows import ROOT, substitute

RUNBOOKS = ROOT / "docs" / "runbooks"
REQUIRED: dict[str, tuple[str, ...]] = {
    "INCIDENT_RESPONSE.md": (
        "Severities", "Service down", "Database", "External API failures", "Security incident",
        "Post-mortem template", "Contacts",
    ),
    "DEPLOYMENT_CHECKLIST.md": (
        "Pre-deployment", "Staging validation", "Execution", "Post-deployment verification", "Rollback",
        "Special cases",
    ),
    "SECRET_ROTATION.md": ("JWT signing key", "Database credentials", "API keys"),
}  # fmt: skip
# Shell built-ins: part of the shell, nothing to look up.
BUILTINS = frozenset({"export", "read", "unset", "cd", "echo", "printf", "test", "set"})
# Programs the runbooks use that run on an operator's machine or a database host, not on a build machine.
EXTERNAL = frozenset({"psql", "gcloud"})

_SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_OPERATORS = frozenset({";", "&", "&&", "|", "||", "(", ")", ";;", "|&"})


def sh_blocks(text: str) -> list[str]:
    return _SH_BLOCK.findall(text)


def command_lines(block: str) -> list[list[str]]:
    """Each simple command of a ```sh block as words: continuations joined, expansions replaced by plausible
    values, split at operators, cut at redirections, leading VAR=value assignments dropped."""
    found: list[list[str]] = []
    for line in re.sub(r"\\\n", " ", block).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(substitute(line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        redirected = False
        for token in [*lexer, ";"]:
            if token in _OPERATORS:
                while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
                    words.pop(0)
                if words:
                    found.append(words)
                words, redirected = [], False
            elif set(token) <= set("<>&"):  # a redirection: its file descriptor and target are not arguments
                if words and words[-1].isdigit():
                    words.pop()
                redirected = True
            elif redirected:
                redirected = False
            else:
                words.append(token)
    return found


def check_command(words: list[str]) -> None:
    """A keel line parses with the real CLI; any other program exists here or is a named external tool."""
    program, args = words[0], words[1:]
    if program == "keel" and "--help" in args:  # parsing --help prints and exits: run it instead
        from typer.testing import CliRunner

        from keel.cli.app import app

        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    elif program == "keel":
        parse_keel(args)
    elif program not in BUILTINS and program not in EXTERNAL:
        assert shutil.which(program), f"{program}: not installed here and not in EXTERNAL"


def runbook_commands() -> list[tuple[str, list[str]]]:
    out = []
    for path in sorted(RUNBOOKS.glob("*.md")):
        for block in sh_blocks(path.read_text()):
            out.extend((path.name, words) for words in command_lines(block))
    return out


COMMANDS = runbook_commands()


def test_the_runbooks_exist_with_their_sections() -> None:
    for name, sections in REQUIRED.items():
        text = (RUNBOOKS / name).read_text()
        headings = re.findall(r"^#+ (.*)$", text, re.MULTILINE)
        for section in sections:
            assert any(section.lower() in h.lower() for h in headings), f"{name}: no section {section!r}"
        assert any(words[0] == "keel" for file, words in COMMANDS if file == name), f"{name}: no keel command"


@pytest.mark.parametrize(
    ("runbook", "words"), COMMANDS, ids=[f"{f}: {' '.join(w)[:60]}" for f, w in COMMANDS]
)
def test_every_runbook_command_is_real(runbook: str, words: list[str]) -> None:
    check_command(words)


def test_keel_help_of_every_subcommand_the_runbooks_use_runs() -> None:
    from typer.testing import CliRunner

    from keel.cli.app import app

    used = sorted({words[1] for _, words in COMMANDS if words[0] == "keel" and len(words) > 1})
    assert {"deploy", "rollback", "status", "abort", "smoke"} <= set(used)
    for sub in used:
        result = CliRunner().invoke(app, [sub, "--help"])
        assert result.exit_code == 0, (sub, result.output)


def test_the_secret_rotation_runbook_rotates_with_keel_secrets() -> None:
    used = {
        tuple(words[1:4]) for file, words in COMMANDS if file == "SECRET_ROTATION.md" and words[0] == "keel"
    }
    assert {("secrets", "rotate", "jwt"), ("secrets", "rotate", "database"), ("secrets", "due")} <= used


@pytest.mark.parametrize(
    "block",
    [
        "keel deploy --env production --no-such-option",
        "keel rollback --env production -n",
        "keel rollbak --env production",
        'curl -fsS "$URL/health/ready" | no-such-program-keel-test',
    ],
)
def test_a_command_that_drifted_from_the_tool_is_caught(block: str) -> None:
    with pytest.raises((CLICK.UsageError, AssertionError)):
        for words in command_lines(block):
            check_command(words)


def test_commands_are_split_like_a_shell_would() -> None:
    block = (
        'A=1 keel status --env staging --format json > out.json 2>&1 && curl -fsS "$URL/x" \\\n  -H "X: $T"\n'
    )
    assert command_lines(block) == [
        ["keel", "status", "--env", "staging", "--format", "json"],
        ["curl", "-fsS", "value/x", "-H", "X: value"],
    ]
