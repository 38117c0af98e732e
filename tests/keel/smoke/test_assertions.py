"""Every JSON assertion type holds when it should and fails, saying why, when it should not."""

from __future__ import annotations

from typing import Any

import pytest

from keel.smoke.assertions import evaluate, show, type_name
from keel.smoke.suite import JsonAssertion

DOC = {
    "status": "healthy",
    "count": 3,
    "ratio": 0.5,
    "flag": True,
    "nothing": None,
    "version": "1.2.3",
    "items": [{"id": 1, "title": "a", "type": "movie"}, {"id": 2, "title": "b", "type": "series"}],
    "meta": {"a": 1},
}


def check(**spec: Any) -> list[str]:
    return evaluate(JsonAssertion.model_validate(spec), DOC)


@pytest.mark.parametrize(
    ("spec", "expected_failure"),
    [
        ({"path": "status", "equals": "healthy"}, None),
        ({"path": "status", "equals": "degraded"}, 'status: expected "degraded", got "healthy"'),
        ({"path": "count", "equals": 3.0}, None),
        ({"path": "flag", "equals": 1}, "flag: expected 1, got true"),
        ({"path": "nothing", "equals": None}, None),
        ({"path": "items[0]", "equals": {"id": 1, "title": "a", "type": "movie"}}, None),
        ({"path": "status", "exists": True}, None),
        ({"path": "missing", "exists": True}, "missing: expected to exist, but is missing or null"),
        ({"path": "nothing", "exists": True}, "nothing: expected to exist"),
        ({"path": "missing", "exists": False}, None),
        ({"path": "status", "exists": False}, 'status: expected to be absent, got "healthy"'),
        ({"path": "count", "type": "integer"}, None),
        ({"path": "count", "type": "number"}, None),
        ({"path": "ratio", "type": "integer"}, "ratio: expected type integer, got number"),
        ({"path": "flag", "type": "integer"}, "flag: expected type integer, got boolean"),
        ({"path": "items", "type": "array"}, None),
        ({"path": "meta", "type": "array"}, "meta: expected type array, got object"),
        ({"path": "items", "min_length": 1, "max_length": 5}, None),
        ({"path": "items", "max_length": 1}, "items: expected length <= 1, got 2"),
        ({"path": "items", "min_length": 3}, "items: expected length >= 3, got 2"),
        ({"path": "status", "max_length": 3}, "status: expected length <= 3, got 7"),
        ({"path": "count", "max_length": 3}, "count: expected something with a length"),
        ({"path": "version", "matches": r"^\d+\.\d+\.\d+$"}, None),
        ({"path": "version", "matches": "^v"}, 'version: expected to match /^v/, got "1.2.3"'),
        ({"path": "count", "matches": "3"}, "count: expected a string matching /3/, got integer"),
        ({"path": "items[0]", "has_keys": ["id", "title"]}, None),
        ({"path": "items[0]", "has_keys": ["id", "poster"]}, "items[0]: missing keys: poster"),
        ({"path": "items", "has_keys": ["id"]}, "items: expected an object with keys id, got array"),
        ({"path": "items", "each": {"has_keys": ["id", "title", "type"]}}, None),
        ({"path": "items", "each": {"path": "type", "equals": "movie"}}, 'item [1] type: expected "movie"'),
        ({"path": "meta", "each": {"exists": True}}, "meta: expected an array for each, got object"),
        ({"path": "length(items)", "equals": 2}, None),
        ({"path": "items[?type=='movie'] | length(@)", "equals": 2}, "expected 2, got 1"),
        ({"equals": DOC}, None),
    ],
)
def test_assertions(spec: dict[str, Any], expected_failure: str | None) -> None:
    failures = check(**spec)
    if expected_failure is None:
        assert failures == []
    else:
        assert len(failures) == 1, failures
        assert expected_failure in failures[0]


def test_every_predicate_of_one_assertion_is_judged() -> None:
    failures = check(path="status", type="integer", equals="x", max_length=2)
    assert len(failures) == 3


def test_each_reports_a_few_items_then_counts_the_rest() -> None:
    doc = {"items": [{"id": i} for i in range(10)]}
    failures = evaluate(JsonAssertion.model_validate({"path": "items", "each": {"has_keys": ["title"]}}), doc)
    assert len(failures) == 4
    assert "and 7 more items failed" in failures[-1]


def test_equals_values_are_rendered() -> None:
    spec = JsonAssertion.model_validate({"path": "status", "equals": "${s}"})
    assert evaluate(spec, DOC, lambda v: "healthy" if v == "${s}" else v) == []


def test_an_assertion_needs_a_predicate_and_a_valid_path() -> None:
    with pytest.raises(ValueError, match="at least one of"):
        JsonAssertion.model_validate({"path": "status"})
    with pytest.raises(ValueError, match="invalid JMESPath"):
        JsonAssertion.model_validate({"path": "items[", "exists": True})
    with pytest.raises(ValueError, match="invalid regular expression"):
        JsonAssertion.model_validate({"path": "a", "matches": "("})
    with pytest.raises(ValueError, match="min_length is greater"):
        JsonAssertion.model_validate({"path": "a", "min_length": 3, "max_length": 1})


def test_helpers() -> None:
    assert [type_name(v) for v in (None, True, 1, 1.5, "s", [], {})] == [
        "null",
        "boolean",
        "integer",
        "number",
        "string",
        "array",
        "object",
    ]
    assert show("x" * 200).endswith("...") and len(show("x" * 200)) == 80
