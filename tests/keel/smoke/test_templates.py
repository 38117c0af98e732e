"""Variables: rendering, typed JSON substitution, environment values, and the redactor."""

from __future__ import annotations

import pytest

from keel.errors import ConfigError
from keel.smoke.templates import REDACTED, Redactor, Variables, is_sensitive_header, references, references_in


def make(**values: object) -> Variables:
    v = Variables(Redactor(), {"API_KEY": "k-123456789"})
    for name, value in values.items():
        v.set(name, value)
    return v


def test_references() -> None:
    assert references("/a/${id}/${env.X}?q=$${literal}") == {"id", "env.X"}
    assert references_in({"a": ["${x}", {"b": "${y}"}], "c": 3}) == {"x", "y"}


def test_render_and_escape() -> None:
    v = make(id=42, name="ann")
    assert v.render("/things/${id}?who=${name}&cost=$$5") == "/things/42?who=ann&cost=$5"


def test_render_json_keeps_the_type_of_a_whole_reference() -> None:
    v = make(id=42)
    assert v.render_json({"content_id": "${id}", "label": "item ${id}", "n": [1, "${id}"]}) == {
        "content_id": 42,
        "label": "item 42",
        "n": [1, 42],
    }


def test_unknown_and_missing_values_are_configuration_errors() -> None:
    v = make()
    with pytest.raises(ConfigError, match="variable nope has no value"):
        v.render("${nope}")
    with pytest.raises(ConfigError, match="environment variable MISSING is not set"):
        v.render("${env.MISSING}")


def test_environment_values_and_credential_headers_become_secrets() -> None:
    v = make(token="abcdef123456")
    headers = v.render_headers(
        [("Authorization", "Bearer ${token}"), ("X-Api-Key", "${env.API_KEY}"), ("Accept", "json")]
    )
    assert headers == {"Authorization": "Bearer abcdef123456", "X-Api-Key": "k-123456789", "Accept": "json"}
    assert (
        v.redactor("sent Bearer abcdef123456 and k-123456789 with json")
        == f"sent {REDACTED} and {REDACTED} with json"
    )
    assert v.redactor("token abcdef123456") == f"token {REDACTED}"


def test_secrets_set_explicitly_are_redacted_and_children_share_the_redactor() -> None:
    v = make()
    child = v.child()
    child.set("password", "hunter2hunter2", secret=True)
    assert "password" not in v.values
    assert v.redactor("pw=hunter2hunter2") == f"pw={REDACTED}"
    v.redactor.add("ab")  # too short to be a credential: redacting it would mangle every message
    assert v.redactor("abc") == "abc"


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("Authorization", True),
        ("Cookie", True),
        ("X-API-Key", True),
        ("X-Auth-Token", True),
        ("Accept", False),
    ],
)
def test_sensitive_headers(name: str, sensitive: bool) -> None:
    assert is_sensitive_header(name) is sensitive
