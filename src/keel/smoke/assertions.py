"""JSON assertions: JMESPath selects a value, predicates judge it, failures say what was found instead.

JMESPath rather than JSONPath: it has one specification with a compliance suite (JSONPath had none until
RFC 9535, and its implementations still disagree on filters and on what a missing key returns), it can
compute (``length(items)``, filters, projections), and the maintained, typed ``jmespath`` package is
already a dependency. Like JMESPath itself, an assertion treats a missing key and ``null`` alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jmespath

from keel.smoke.suite import JsonAssertion

Render = Callable[[Any], Any]

_MAX_SHOWN = 80
_MAX_ITEM_FAILURES = 3


def type_name(value: Any) -> str:
    """The JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show(value: Any) -> str:
    """A short rendering of a value for a failure message."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _is_type(value: Any, wanted: str) -> bool:
    actual = type_name(value)
    return actual == wanted or (wanted == "number" and actual == "integer")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python would say it is); ``1`` equals ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def evaluate(assertion: JsonAssertion, document: Any, render: Render = lambda v: v) -> list[str]:
    """Judge one assertion against a decoded JSON document; returns one message per failed predicate.
    ``render`` substitutes variables in an ``equals`` value."""
    value = jmespath.search(assertion.path, document)
    where = "body" if assertion.path == "@" else assertion.path
    failures: list[str] = []

    def fail(message: str) -> None:
        failures.append(f"{where}: {message}")

    if assertion.exists is not None and (value is not None) != assertion.exists:
        fail(
            "expected to exist, but is missing or null"
            if assertion.exists
            else f"expected to be absent, got {show(value)}"
        )
    if assertion.type is not None and not _is_type(value, assertion.type):
        fail(f"expected type {assertion.type}, got {type_name(value)}")
    if assertion.checks_equals:
        expected = render(assertion.equals)
        if not _equal(value, expected):
            fail(f"expected {show(expected)}, got {show(value)}")
    if assertion.min_length is not None or assertion.max_length is not None:
        _length(assertion, value, fail)
    if assertion.matches is not None:
        if not isinstance(value, str):
            fail(f"expected a string matching /{assertion.matches}/, got {type_name(value)}")
        elif not re.search(assertion.matches, value):
            fail(f"expected to match /{assertion.matches}/, got {show(value)}")
    if assertion.has_keys is not None:
        if not isinstance(value, dict):
            fail(f"expected an object with keys {', '.join(assertion.has_keys)}, got {type_name(value)}")
        else:
            missing = [k for k in assertion.has_keys if value.get(k) is None]
            if missing:
                fail(f"missing keys: {', '.join(missing)}")
    if assertion.each is not None:
        _each(assertion.each, value, render, fail)
    return failures


def _length(assertion: JsonAssertion, value: Any, fail: Callable[[str], None]) -> None:
    if not isinstance(value, str | list | dict):
        fail(f"expected something with a length (string, array, object), got {type_name(value)}")
        return
    size = len(value)
    if assertion.min_length is not None and size < assertion.min_length:
        fail(f"expected length >= {assertion.min_length}, got {size}")
    if assertion.max_length is not None and size > assertion.max_length:
        fail(f"expected length <= {assertion.max_length}, got {size}")


def _each(inner: JsonAssertion, value: Any, render: Render, fail: Callable[[str], None]) -> None:
    if not isinstance(value, list):
        fail(f"expected an array for each, got {type_name(value)}")
        return
    bad = 0
    for i, item in enumerate(value):
        problems = evaluate(inner, item, render)
        if problems:
            bad += 1
            if bad <= _MAX_ITEM_FAILURES:
                fail(f"item [{i}] {'; '.join(problems)}")
    if bad > _MAX_ITEM_FAILURES:
        fail(f"... and {bad - _MAX_ITEM_FAILURES} more items failed")
