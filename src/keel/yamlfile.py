"""Load YAML files into validated models, with errors that name the file, line and key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from keel.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where it is and what is wrong."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class SpecError(ConfigError):
    """A file failed to load or validate; it lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_key(path: KeyPath) -> str:
    """Render a key path the way a user would write it: ``strategy.canary.steps[2].weight``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML data plus the line on which each key path starts."""

    file: str
    data: Any
    lines: dict[KeyPath, int]

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that exists in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.file, self.line_of(path), format_key(path), message)


def _index_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise SpecError(
                    [Problem(file, key_node.start_mark.line + 1, format_key((*path, key)), "duplicate key")]
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines, file)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document, keeping line numbers; syntax errors become a SpecError."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(file, None, {})
        lines: dict[KeyPath, int] = {}
        _index_lines(node, (), lines, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError([Problem(file, line, "", f"invalid YAML: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return YamlDocument(file, data, lines)


def read_yaml(path: str | Path) -> YamlDocument:
    """Read and parse a YAML file; a missing or unreadable file is a SpecError naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(str(p), None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(str(p), None, "", f"cannot read file: {exc}")]) from None
    return parse_yaml(text, str(p))


def error_message(err: Mapping[str, Any]) -> str:
    """One pydantic error as a user reads it beside its key: "unknown key", "required key is missing", or the
    validator's own message."""
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def error_path(err: Mapping[str, Any]) -> KeyPath:
    """The key path of one pydantic error (union and function labels dropped)."""
    return tuple(p for p in err["loc"] if isinstance(p, str | int))


def validate(doc: YamlDocument, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Validate parsed YAML against a pydantic model; every error names file, line and key."""
    if doc.data is None:
        raise SpecError([Problem(doc.file, None, "", "file is empty")])
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            problems.append(doc.problem(error_path(err), error_message(err)))
        raise SpecError(problems) from None


def load_model(path: str | Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Read a YAML file and validate it into ``model``."""
    return validate(read_yaml(path), model, context)
