"""``${name}`` variables in suite requests, and the redactor that keeps secret values out of reports."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keel.smoke.errors import TemplateError

# ``${name}``, ``${env.NAME}``; ``$$`` is a literal dollar sign.
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")
_WHOLE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

# Header names whose values are credentials: their rendered values are always redacted.
_SENSITIVE_HEADER = re.compile(
    r"authorization|cookie|token|secret|api[-_]?key|password|session", re.IGNORECASE
)

REDACTED = "***"


def references(text: str) -> set[str]:
    """The variable names a template refers to (``env.X`` included as written)."""
    return {m.group(1) for m in _REFERENCE.finditer(text) if m.group(1)}


def references_in(value: Any) -> set[str]:
    """Every reference in a JSON-like value (strings inside lists and mappings included)."""
    if isinstance(value, str):
        return references(value)
    if isinstance(value, Mapping):
        return set().union(*(references_in(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(references_in(v) for v in value)) if value else set()
    return set()


def is_sensitive_header(name: str) -> bool:
    return bool(_SENSITIVE_HEADER.search(name))


@dataclass
class Redactor:
    """Collects secret values as a run learns them and replaces them with ``***`` in any text it reports."""

    secrets: set[str] = field(default_factory=set)

    def add(self, value: Any) -> None:
        text = str(value)
        # Very short values would redact innocent text everywhere; they are not credentials anyway.
        if len(text) >= 4:
            self.secrets.add(text)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


@dataclass
class Variables:
    """The values a run can substitute: builtins, suite variables, environment and captured values.
    Secret values are registered with the shared redactor the moment they are set."""

    redactor: Redactor
    environ: Mapping[str, str]
    values: dict[str, Any] = field(default_factory=dict)

    def set(self, name: str, value: Any, secret: bool = False) -> None:
        self.values[name] = value
        if secret:
            self.redactor.add(value)

    def child(self) -> Variables:
        """A scope for one sequential group: sees everything here, its captures stay its own."""
        return Variables(self.redactor, self.environ, dict(self.values))

    def lookup(self, name: str) -> Any:
        if name.startswith("env."):
            key = name[4:]
            if key not in self.environ:
                raise TemplateError(f"environment variable {key} is not set (referenced as ${{{name}}})")
            value = self.environ[key]
            self.redactor.add(value)  # environment values are how secrets reach a suite
            return value
        if name not in self.values:
            raise TemplateError(f"variable {name} has no value (referenced as ${{{name}}})")
        return self.values[name]

    def render(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            return str(self.lookup(match.group(1)))

        return _REFERENCE.sub(replace, text)

    def render_json(self, value: Any) -> Any:
        """Render strings inside a JSON body; a string that is exactly one ``${name}`` keeps the value's
        own type (so a captured integer id stays an integer)."""
        if isinstance(value, str):
            whole = _WHOLE.match(value)
            if whole:
                return self.lookup(whole.group(1))
            return self.render(value)
        if isinstance(value, Mapping):
            return {k: self.render_json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.render_json(v) for v in value]
        return value

    def render_headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Render header values; credentials among them become secrets."""
        out: dict[str, str] = {}
        for name, template in headers:
            value = self.render(template)
            if is_sensitive_header(name):
                self.redactor.add(value)
                # "Bearer abc": the bare token must not leak either (the scheme word is no secret).
                parts = value.split()
                for part in parts[1:] if len(parts) > 1 else parts:
                    self.redactor.add(part)
            out[name] = value
        return out
