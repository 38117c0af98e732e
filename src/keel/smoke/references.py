"""Load-time check that every ``${name}`` in a suite refers to a value that will exist when it is used."""

from __future__ import annotations

from collections.abc import Iterable

from keel.smoke.suite import BUILTINS, Check, JsonAssertion, Request, Suite
from keel.smoke.templates import references, references_in
from keel.yamlfile import KeyPath, Problem, SpecError, YamlDocument


class _Checker:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.auth_captures: set[str] = set()

    def refs(self, found: Iterable[str], known: set[str], path: KeyPath) -> None:
        for name in sorted(found):
            if name.startswith("env.") or name in known:
                continue
            hint = ""
            if name in self.auth_captures:
                hint = " (captured by the auth steps: set auth: true on this check)"
            self.problems.append(self.doc.problem(path, f"unknown variable ${{{name}}}{hint}"))

    def assertions(self, items: Iterable[JsonAssertion], known: set[str], path: KeyPath) -> None:
        for i, assertion in enumerate(items):
            if assertion.checks_equals:
                self.refs(references_in(assertion.equals), known, (*path, i, "equals"))
            if assertion.each is not None:
                self.assertions([assertion.each], known, (*path, i, "each"))

    def request(self, request: Request, known: set[str], path: KeyPath) -> None:
        self.refs(references(request.path), known, (*path, "path"))
        for name, value in request.headers.items():
            self.refs(references(value), known, (*path, "headers", name))
        self.refs(references_in(request.json_body), known, (*path, "json"))
        if request.body is not None:
            self.refs(references(request.body), known, (*path, "body"))
        if isinstance(request, Check):
            self.assertions(request.expect.json_assertions, known, (*path, "expect", "json"))

    def flow(
        self, checks: Iterable[Check], known: set[str], path: KeyPath, sequential: bool, has_auth: bool
    ) -> set[str]:
        """Check a list of steps; returns the names they capture."""
        scope = set(known)
        captured: set[str] = set()
        for i, check in enumerate(checks):
            at = (*path, i)
            if check.auth and not has_auth:
                self.problems.append(
                    self.doc.problem((*at, "auth"), "auth: true but the suite has no auth section")
                )
            if check.capture and not sequential:
                self.problems.append(
                    self.doc.problem((*at, "capture"), "captures need a sequential group (sequential: true)")
                )
            self.request(check, scope | (self.auth_captures if check.auth else set()), at)
            if sequential:
                scope |= check.capture.keys()
            captured |= check.capture.keys()
        return captured


def check_references(suite: Suite, doc: YamlDocument) -> None:
    """Raise SpecError (file:line: key) for references to variables that are never defined before use."""
    checker = _Checker(doc)
    known = set(BUILTINS)
    for name, variable in suite.variables.items():
        checker.refs(references(variable.value), known, ("variables", name))
        known.add(name)
    for name, value in suite.defaults.headers.items():
        checker.refs(references(value), known, ("defaults", "headers", name))

    if suite.auth is not None:
        for i, step in enumerate(suite.auth.steps):
            if step.auth:
                checker.problems.append(
                    doc.problem(("auth", "steps", i, "auth"), "auth steps cannot themselves use auth")
                )
        checker.auth_captures = checker.flow(suite.auth.steps, known, ("auth", "steps"), True, False)
        for name, value in suite.auth.headers.items():
            checker.refs(references(value), known | checker.auth_captures, ("auth", "headers", name))

    has_auth = suite.auth is not None
    for group_name, group in suite.groups.items():
        checker.flow(group.checks, known, ("groups", group_name, "checks"), group.sequential, has_auth)
    checker.flow(suite.cleanup, known, ("cleanup",), True, has_auth)
    if suite.latency is not None:
        for i, check in enumerate(suite.latency.checks):
            at = ("latency", "checks", i)
            if check.auth and not has_auth:
                checker.problems.append(
                    doc.problem((*at, "auth"), "auth: true but the suite has no auth section")
                )
            checker.request(check, known | (checker.auth_captures if check.auth else set()), at)
    if checker.problems:
        raise SpecError(checker.problems)
