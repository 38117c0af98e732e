"""``keel smoke``: exit 0 when all passed, 1 when a check failed, 2 on usage or configuration errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from keel.cli.app import main
from tests.keel.smoke.misbehaving import PASSWORD, MisbehavingServer, ThreadedServer

GOOD = """
name: cli
variables:
  password: {value: "${env.CLI_SMOKE_PASSWORD}", secret: true}
auth:
  steps:
    - {name: login, method: POST, path: /login, json: {user: u, password: "${password}"}, capture: {token: access_token}}
  headers: {Authorization: "Bearer ${token}"}
groups:
  health:
    checks:
      - {name: ok, path: /ok, expect: {json: [{path: status, equals: healthy}]}}
      - {name: me, path: /me, auth: true}
latency:
  warmup: 1
  samples: 5
  checks:
    - {name: ok, path: /ok, max: 2s}
compare: {samples: 10, warmup: 1}
"""

BAD = """
groups:
  broken:
    checks:
      - {name: down, path: /status/503}
      - {name: ok, path: /ok}
"""


@pytest.fixture
def server() -> Iterator[MisbehavingServer]:
    with ThreadedServer() as srv:
        yield srv


@pytest.fixture
def suites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "malformed.yaml").write_text(
        "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n        expect: {status: 99}\n"
    )
    monkeypatch.setenv("CLI_SMOKE_PASSWORD", PASSWORD)
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("KEEL_SMOKE_SUITE", "KEEL_SMOKE_FORMAT", "KEEL_SMOKE_URL", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
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


def test_all_passed_exits_0_with_a_table(
    server: MisbehavingServer,
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = keel(monkeypatch, capsys, "smoke", server.url, "--suite", str(suites / "good.yaml"))
    assert code == 0, err
    assert "PASS" in out and "health/ok" in out and "latency/ok" in out
    assert "smoke suite cli passed" in out
    assert PASSWORD not in out + err
    assert not any(token in out + err for token in server.tokens)


def test_a_failed_check_exits_1_and_says_which(
    server: MisbehavingServer,
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = keel(monkeypatch, capsys, "smoke", server.url, "-f", str(suites / "bad.yaml"))
    assert code == 1
    assert "wrong_status: expected status 200, got 503" in out
    assert "smoke suite smoke FAILED" in err and "1 passed, 1 failed" in err


def test_a_malformed_suite_exits_2_naming_file_line_and_key(
    server: MisbehavingServer,
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = suites / "malformed.yaml"
    code, _out, err = keel(monkeypatch, capsys, "smoke", server.url, "--suite", str(path))
    assert code == 2
    assert (
        f"{path}:6: groups.g.checks[0].expect.status[0]: Input should be greater than or equal to 100" in err
    )
    assert server.seen == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["smoke", "http://127.0.0.1:1", "--suite", "/nonexistent/smoke.yaml"], "file not found"),
        (["smoke", "ftp://example.com", "--suite", "{good}"], "invalid URL"),
        (
            ["smoke", "http://127.0.0.1:1", "--suite", "{good}", "--margin", "10%"],
            "only apply with --compare",
        ),
        (
            ["smoke", "http://127.0.0.1:1", "--suite", "{good}", "--format", "yaml"],
            "unknown output format 'yaml'",
        ),
        (["smoke", "http://127.0.0.1:1", "--suite", "{good}", "--group", "nope"], "no group nope"),
        (
            ["smoke", "http://127.0.0.1:1", "--suite", "{good}", "--deadline", "0"],
            "deadline must be positive",
        ),
        (
            ["smoke", "http://127.0.0.1:1", "--suite", "{bad}", "--compare", "http://127.0.0.1:2"],
            "no latency checks",
        ),
    ],
)
def test_usage_and_configuration_errors_exit_2(
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    args = [a.format(good=suites / "good.yaml", bad=suites / "bad.yaml") for a in args]
    code, _out, err = keel(monkeypatch, capsys, *args)
    assert code == 2
    assert message in err


GROUPS = """
name: groups
auth:
  steps:
    - {name: login, method: POST, path: /login, json: {user: u, password: "${env.CLI_SMOKE_PASSWORD}"}, capture: {token: access_token}}
  headers: {Authorization: "Bearer ${token}"}
groups:
  public:
    checks: [{name: ok, path: /ok}]
  account:
    checks: [{name: me, path: /me, auth: true}]
cleanup:
  - {name: sign-out, method: DELETE, path: /things/42, auth: true, expect: {status: 204}}
"""


def test_group_without_auth_checks_signs_in_nowhere(
    server: MisbehavingServer,
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = suites / "groups.yaml"
    path.write_text(GROUPS)
    code, out, err = keel(
        monkeypatch, capsys, "smoke", server.url, "-f", str(path), "-g", "public", "--format", "json"
    )
    assert code == 0, err
    assert [c["check"] for c in json.loads(out)["checks"]] == ["public/ok"]
    assert [r.path for r in server.seen] == ["/ok"]  # no sign-in, no clean-up of a sign-in

    code, out, err = keel(
        monkeypatch, capsys, "smoke", server.url, "-f", str(path), "-g", "account", "--format", "json"
    )
    assert code == 0, err
    checks = [c["check"] for c in json.loads(out)["checks"]]
    assert checks == ["auth/login", "account/me", "cleanup/sign-out"]


def test_json_on_stdout_from_environment_variables(
    server: MisbehavingServer,
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KEEL_SMOKE_SUITE", str(suites / "good.yaml"))
    monkeypatch.setenv("KEEL_SMOKE_FORMAT", "json")
    monkeypatch.setenv("KEEL_SMOKE_URL", server.url)
    code, out, err = keel(monkeypatch, capsys, "smoke", "--no-latency")
    assert code == 0, err
    data = json.loads(out)
    assert data["passed"] is True and data["latency"] == []
    assert [c["check"] for c in data["checks"]] == ["auth/login", "health/ok", "health/me"]


def test_report_files(
    server: MisbehavingServer,
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    junit = suites / "report.xml"
    code, out, err = keel(
        monkeypatch,
        capsys,
        "smoke",
        server.url,
        "-f",
        str(suites / "bad.yaml"),
        "--format",
        "junit",
        "-o",
        str(junit),
    )
    assert code == 1, err
    root = ET.fromstring(junit.read_text())
    assert root.get("failures") == "1"
    assert "FAIL" in out  # the terminal still shows the table
    markdown = suites / "report.md"
    code, out, _err = keel(
        monkeypatch,
        capsys,
        "smoke",
        server.url,
        "-f",
        str(suites / "good.yaml"),
        "--format",
        "markdown",
        "-o",
        str(markdown),
    )
    assert code == 0
    assert markdown.read_text().startswith("### ✅ smoke suite cli passed")


def test_markdown_to_stdout_is_verbatim(
    server: MisbehavingServer,
    suites: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = keel(
        monkeypatch, capsys, "smoke", server.url, "-f", str(suites / "bad.yaml"), "--format", "markdown"
    )
    assert code == 1
    assert "| ❌ | broken/down | `GET /status/503` | wrong_status: expected status 200, got 503 |" in out


def test_compare_mode(
    suites: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadedServer(0.005) as candidate, ThreadedServer(0.005) as baseline:
        code, out, err = keel(
            monkeypatch,
            capsys,
            "smoke",
            candidate.url,
            "-f",
            str(suites / "good.yaml"),
            "--compare",
            baseline.url,
            "--margin",
            "50%",
            "--format",
            "json",
        )
    assert code == 0, err
    data = json.loads(out)
    assert data["baseline_url"] == baseline.url and data["checks"] == []
    (comparison,) = data["comparisons"]
    assert comparison["samples"] in (10, 20, 30)  # 10 pairs per look, up to 3 looks
    assert comparison["margin"] == 0.5 and comparison["outcome"] == "passed"
