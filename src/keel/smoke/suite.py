"""The smoke.yaml model: checks, groups, variables, the auth step, latency and comparison settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from keel import durations
from keel.shares import parse_share
from keel.yamlfile import YamlDocument, parse_yaml, read_yaml, validate

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BUILTINS = frozenset({"run_id"})


def _fraction(value: Any) -> Any:
    """``10%`` or ``0.10``."""
    return parse_share(value) if isinstance(value, str) else value


def _statuses(value: Any) -> Any:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


def _jmespath(value: str) -> str:
    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        raise ValueError(f"invalid JMESPath expression: {exc}") from None
    return value


def _non_empty(value: Any) -> Any:
    # An after-validator, not min_length: pydantic would also report "too short" when an item is invalid.
    if not value:
        raise ValueError("must not be empty")
    return value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Duration = Annotated[durations.Duration, Field(gt=0)]
JmesPath = Annotated[str, AfterValidator(_jmespath)]
Fraction = Annotated[float, BeforeValidator(_fraction)]
Statuses = Annotated[
    tuple[Annotated[int, Field(ge=100, le=599)], ...], BeforeValidator(_statuses), AfterValidator(_non_empty)
]
Method = Annotated[
    Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], BeforeValidator(_upper)
]
JsonType = Literal["string", "number", "integer", "boolean", "array", "object", "null"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class JsonAssertion(_Model):
    """Predicates on the value a JMESPath expression selects from the JSON body. All given must hold."""

    path: JmesPath = "@"
    equals: Any = None
    exists: bool | None = None
    type: JsonType | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    matches: str | None = None
    has_keys: tuple[str, ...] | None = None
    each: JsonAssertion | None = None

    @field_validator("matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _something_to_check(self) -> JsonAssertion:
        predicates = {"equals", "exists", "type", "min_length", "max_length", "matches", "has_keys", "each"}
        if not predicates & self.model_fields_set:
            raise ValueError("an assertion needs at least one of: " + ", ".join(sorted(predicates)))
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self

    @property
    def checks_equals(self) -> bool:
        return "equals" in self.model_fields_set


class Expect(_Model):
    """What a good answer looks like."""

    status: Statuses = (200,)
    content_type: str | None = None
    json_assertions: tuple[JsonAssertion, ...] = Field(default=(), alias="json")


class Retry(_Model):
    """Declared retries: ``attempts`` tries in all, ``delay`` apart. Checks without it are tried once."""

    attempts: int = Field(ge=2, le=10)
    delay: Duration = 0.5


class Capture(_Model):
    """Keep a value of the JSON answer (selected by JMESPath) as a variable for later steps."""

    path: JmesPath
    secret: bool = False


def _capture(value: Any) -> Any:
    return {"path": value} if isinstance(value, str) else value


class Request(_Model):
    """One HTTP request against the service under test; ``path`` is relative to its base URL."""

    name: str = Field(min_length=1)
    method: Method = "GET"
    path: str
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None
    timeout: Duration | None = None
    auth: bool = False
    follow_redirects: bool = True

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with / (checks only ever call the URL under test)")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> Request:
        if self.body is not None and "json_body" in self.model_fields_set:
            raise ValueError("give either json or body, not both")
        return self


class Check(Request):
    """A functional check: a request and the answer it must get."""

    expect: Expect = Field(default_factory=Expect)
    retries: Retry | None = None
    capture: dict[str, Annotated[Capture, BeforeValidator(_capture)]] = Field(default_factory=dict)
    always: bool = False

    @field_validator("capture")
    @classmethod
    def _capture_names(cls, value: dict[str, Capture]) -> dict[str, Capture]:
        for name in value:
            if not _NAME.match(name) or name in BUILTINS:
                raise ValueError(f"{name!r} is not a usable variable name")
        return value


def _unique(checks: tuple[Check, ...] | tuple[LatencyCheck, ...]) -> None:
    seen: set[str] = set()
    for check in checks:
        if check.name in seen:
            raise ValueError(f"two checks are named {check.name!r}")
        seen.add(check.name)


class Group(_Model):
    """Checks that belong together. Concurrent by default; ``sequential`` makes a flow whose steps run in
    order, may capture values for later steps, and stop at the first failure (``always`` steps still run)."""

    checks: Annotated[tuple[Check, ...], AfterValidator(_non_empty)]
    sequential: bool = False

    @model_validator(mode="after")
    def _names(self) -> Group:
        _unique(self.checks)
        return self


class Auth(_Model):
    """Sign in once (register or log in, capturing the token), then send ``headers`` on every ``auth``
    check. Values captured here are secrets unless marked otherwise."""

    steps: Annotated[tuple[Check, ...], AfterValidator(_non_empty)]
    headers: Annotated[dict[str, str], AfterValidator(_non_empty)]

    @model_validator(mode="after")
    def _names(self) -> Auth:
        _unique(self.steps)
        return self


class LatencyCheck(Request):
    """A percentile of ``samples`` sequential requests, after ``warmup`` discarded ones, must stay below
    ``max``; every sampled request must also get an expected status."""

    percentile: float = Field(default=95, gt=0, le=100)
    max: Duration
    status: Statuses = (200,)
    warmup: int | None = Field(default=None, ge=0, le=1000)
    samples: int | None = Field(default=None, ge=5, le=10_000)


class Latency(_Model):
    warmup: int = Field(default=5, ge=0, le=1000)
    samples: int = Field(default=30, ge=5, le=10_000)
    checks: Annotated[tuple[LatencyCheck, ...], AfterValidator(_non_empty)]

    @model_validator(mode="after")
    def _names(self) -> Latency:
        _unique(self.checks)
        return self


class Compare(_Model):
    """``--compare``: the candidate fails when it is slower than the baseline by more than ``margin``
    (relative) with ``confidence``. ``samples`` pairs per look, at most ``looks`` looks."""

    margin: Fraction = Field(default=0.10, ge=0, le=10)
    confidence: float = Field(default=0.95, ge=0.5, le=0.999)
    samples: int = Field(default=40, ge=10, le=10_000)
    looks: int = Field(default=3, ge=1, le=10)
    warmup: int = Field(default=5, ge=0, le=1000)


class Variable(_Model):
    value: str
    secret: bool = False


def _variable(value: Any) -> Any:
    return {"value": value} if isinstance(value, str | int | float) and not isinstance(value, bool) else value


class Defaults(_Model):
    timeout: Duration = 5.0
    headers: dict[str, str] = Field(default_factory=dict)


class Suite(_Model):
    """A whole smoke.yaml."""

    name: str = "smoke"
    deadline: Duration = 30.0
    concurrency: int = Field(default=8, ge=1, le=64)
    defaults: Defaults = Field(default_factory=Defaults)
    variables: dict[str, Annotated[Variable, BeforeValidator(_variable)]] = Field(default_factory=dict)
    auth: Auth | None = None
    groups: dict[str, Group] = Field(default_factory=dict)
    cleanup: tuple[Check, ...] = ()
    latency: Latency | None = None
    compare: Compare = Field(default_factory=Compare)

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, Variable]) -> dict[str, Variable]:
        for name in value:
            if not _NAME.match(name) or name in BUILTINS or name == "env":
                raise ValueError(f"{name!r} is not a usable variable name")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Suite:
        if not self.groups and self.latency is None:
            raise ValueError("a suite needs at least one group of checks or a latency section")
        return self


def load_suite(path: str | Path) -> Suite:
    """Read and validate a smoke.yaml; raises keel.yamlfile.SpecError naming file, line and key."""
    return suite_from_document(read_yaml(path))


def parse_suite(text: str, file: str = "smoke.yaml") -> Suite:
    """Validate suite text (for tests and for suites held in memory)."""
    return suite_from_document(parse_yaml(text, file))


def suite_from_document(doc: YamlDocument) -> Suite:
    from keel.smoke.references import check_references

    suite = validate(doc, Suite)
    check_references(suite, doc)
    return suite
