"""Every ${name} must refer to something defined before it is used; errors name file, line and key."""

from __future__ import annotations

import pytest

from keel.smoke import parse_suite
from keel.yamlfile import SpecError


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_suite(text, "s.yaml")
    return [str(p) for p in caught.value.problems]


def test_unknown_variables_are_named_with_their_line() -> None:
    found = problems(
        "variables:\n  a: '${b}'\n  b: x\n"
        "groups:\n  g:\n    checks:\n      - name: c\n        path: /x/${nope}\n"
        "        headers: {X-Y: '${also_nope}'}\n"
    )
    assert "s.yaml:2: variables.a: unknown variable ${b}" in found  # defined later: not yet known
    assert "s.yaml:8: groups.g.checks[0].path: unknown variable ${nope}" in found
    assert "s.yaml:9: groups.g.checks[0].headers.X-Y: unknown variable ${also_nope}" in found


def test_captures_are_visible_to_later_steps_of_a_sequential_group_only() -> None:
    flow = (
        "groups:\n  g:\n    sequential: true\n    checks:\n"
        "      - {name: a, path: '/a/${id}'}\n"
        "      - {name: b, path: /b, capture: {id: id}}\n"
        "      - {name: c, path: '/c/${id}', json: {x: '${id}'}}\n"
        "  h:\n    checks:\n      - {name: d, path: '/d/${id}'}\n"
    )
    found = problems(flow)
    assert found == [
        "s.yaml:5: groups.g.checks[0].path: unknown variable ${id}",
        "s.yaml:10: groups.h.checks[0].path: unknown variable ${id}",
    ]


def test_auth_captures_need_auth_true_and_an_auth_section() -> None:
    suite = (
        "auth:\n  steps:\n    - {name: login, path: /login, capture: {token: t}}\n"
        "  headers: {Authorization: 'Bearer ${token}'}\n"
        "groups:\n  g:\n    checks:\n      - {name: a, path: '/a/${token}'}\n"
        "      - {name: b, path: '/b/${token}', auth: true}\n"
    )
    found = problems(suite)
    assert found == [
        "s.yaml:8: groups.g.checks[0].path: unknown variable ${token} (captured by the auth steps: set auth: true "
        "on this check)"
    ]
    no_auth = problems("groups:\n  g:\n    checks:\n      - {name: a, path: /a, auth: true}\n")
    assert no_auth == ["s.yaml:4: groups.g.checks[0].auth: auth: true but the suite has no auth section"]


def test_captures_in_a_concurrent_group_are_refused() -> None:
    found = problems(
        "groups:\n  g:\n    checks:\n      - name: a\n        path: /a\n        capture: {x: y}\n"
    )
    assert found == [
        "s.yaml:6: groups.g.checks[0].capture: captures need a sequential group (sequential: true)"
    ]


def test_environment_references_and_builtins_are_always_known() -> None:
    parse_suite(
        "groups:\n  g:\n    checks:\n      - {name: a, path: '/a/${run_id}', headers: {K: '${env.KEY}'}}\n"
    )
