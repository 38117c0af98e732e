"""Loading smoke.yaml: a valid suite becomes a model; a malformed one is refused with file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.errors import ConfigError
from keel.smoke import load_suite, parse_suite
from keel.yamlfile import SpecError

VALID = """\
name: demo
deadline: 10s
defaults: {timeout: 2s, headers: {Accept: application/json}}
variables:
  email: "smoke-${run_id}@example.com"
  password: {value: "${env.SMOKE_PASSWORD}", secret: true}
auth:
  steps:
    - name: register
      method: post
      path: /auth/register
      json: {email: "${email}", password: "${password}"}
      expect: {status: [200, 201]}
      capture: {token: access_token}
  headers: {Authorization: "Bearer ${token}"}
groups:
  health:
    checks:
      - name: health
        path: /health
        timeout: 250ms
        retries: {attempts: 3, delay: 100ms}
        expect: {json: [{path: status, equals: healthy}]}
latency:
  samples: 20
  checks:
    - {name: health, path: /health, percentile: 99, max: 0.1}
compare: {margin: 15%, confidence: 0.9}
"""


def test_a_valid_suite() -> None:
    suite = parse_suite(VALID)
    assert suite.name == "demo" and suite.deadline == 10.0
    check = suite.groups["health"].checks[0]
    assert check.timeout == 0.25 and check.retries is not None and check.retries.delay == 0.1
    assert check.expect.status == (200,)
    assert suite.auth is not None and suite.auth.steps[0].method == "POST"
    assert suite.auth.steps[0].expect.status == (200, 201)
    assert suite.variables["password"].secret and not suite.variables["email"].secret
    assert suite.latency is not None and suite.latency.checks[0].max == 0.1
    assert suite.compare.margin == pytest.approx(0.15) and suite.compare.confidence == 0.9


def test_load_suite_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "smoke.yaml"
    path.write_text(VALID)
    assert load_suite(path).name == "demo"


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_suite(text, "suite.yaml")
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 2
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n        methd: GET\n",
            "suite.yaml:6: groups.g.checks[0].methd: unknown key",
        ),
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: x\n",
            "suite.yaml:5: groups.g.checks[0].path: must start with /",
        ),
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n        expect: {status: 999}\n",
            "suite.yaml:6: groups.g.checks[0].expect.status[0]: Input should be less than or equal to 599",
        ),
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n        timeout: soon\n",
            "suite.yaml:6: groups.g.checks[0].timeout: invalid duration",
        ),
        (
            "groups:\n  g:\n    checks:\n      - path: /x\n",
            "suite.yaml:4: groups.g.checks[0].name: required key is missing",
        ),
        (
            "groups:\n  g:\n    checks:\n      - {name: a, path: /x, method: FETCH}\n",
            "suite.yaml:4: groups.g.checks[0].method: Input should be",
        ),
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n        expect:\n          json:\n"
            "            - {path: 'items[', exists: true}\n",
            "suite.yaml:8: groups.g.checks[0].expect.json[0].path: invalid JMESPath expression",
        ),
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n        expect:\n          json:\n"
            "            - {path: items}\n",
            "suite.yaml:8: groups.g.checks[0].expect.json[0]: an assertion needs at least one of",
        ),
        ("groups:\n  g:\n    checks: []\n", "suite.yaml:3: groups.g.checks: must not be empty"),
        (
            "groups:\n  g:\n    checks:\n      - {name: a, path: /x}\n      - {name: a, path: /y}\n",
            "suite.yaml:2: groups.g: two checks are named 'a'",
        ),
        ("name: x\n", "suite.yaml:1: a suite needs at least one group of checks or a latency section"),
        (
            "groups:\n  g:\n    checks:\n      - {name: a, path: /x, retries: {attempts: 1}}\n",
            "suite.yaml:4: groups.g.checks[0].retries.attempts: Input should be greater than or equal to 2",
        ),
        (
            "groups:\n  g:\n    checks:\n      - {name: a, path: /x, json: {}, body: x}\n",
            "suite.yaml:4: groups.g.checks[0]: give either json or body, not both",
        ),
        (
            "latency:\n  checks:\n    - {name: a, path: /x}\n",
            "suite.yaml:3: latency.checks[0].max: required key is missing",
        ),
        (
            "latency:\n  samples: 1\n  checks:\n    - {name: a, path: /x, max: 1s}\n",
            "suite.yaml:2: latency.samples: Input should be greater than or equal to 5",
        ),
        (
            "compare: {margin: lots}\nlatency:\n  checks:\n    - {name: a, path: /x, max: 1s}\n",
            "suite.yaml:1: compare.margin: invalid percentage 'lots'",
        ),
        (
            "variables: {env: x}\ngroups: {g: {checks: [{name: a, path: /x}]}}\n",
            "suite.yaml:1: variables: 'env' is not a usable variable name",
        ),
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n      - name: a\n",
            "suite.yaml:6: groups.g.checks[1].path: required key is missing",
        ),
        (
            "groups:\n  g:\n    checks:\n      - name: a\n        path: /x\n        path: /y\n",
            "suite.yaml:6: groups.g.checks[0].path: duplicate key",
        ),
        ("groups:\n  g:\n    checks:\n      - name: a\n       path: /x\n", "suite.yaml:5: invalid YAML"),
    ],
)
def test_malformed_suites_name_file_line_and_key(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_suite(tmp_path / "nope.yaml")


def test_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "smoke.yaml").write_text("")
    with pytest.raises(SpecError, match="file is empty"):
        load_suite(tmp_path / "smoke.yaml")


def test_the_shipped_bayit_suite_loads() -> None:
    suite = load_suite(Path(__file__).resolve().parents[3] / "smoke.yaml")
    assert {"health", "api", "auth-barrier", "public-content", "signed-in"} <= set(suite.groups)
    assert suite.latency is not None and suite.auth is not None
