"""Load YAML files into validated models, with errors that name the file, line and key.

keel.yaml and smoke.yaml arrive through pull requests and CI, so the loader treats them as untrusted: the file
size, the nesting depth and the number of nodes (counted after alias expansion, so a "billion laughs" document
of a few hundred bytes is refused) are bounded before any Python object is built (``Limits``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from keel.errors import ConfigError

try:  # libyaml's parser when PyYAML was built with it (every PyYAML wheel is)
    from yaml._yaml import CParser

    LIBYAML = True
except ImportError:  # pragma: no cover - PyYAML without libyaml
    CParser = yaml.parser.Parser  # type: ignore[misc, assignment]  # unused: _loader picks the Python loader
    LIBYAML = False

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
class Limits:
    """What the loader accepts; anything beyond is refused before a Python object is built."""

    # keel's own keel.yaml is 1.6 kB and 143 nodes, its smoke.yaml 4.5 kB and 445 nodes. Composing costs
    # microseconds per node with libyaml and tens without, so these bounds also keep the slowest refusal (a
    # flat list of 20,000 scalars) to a fraction of a second, about a second in pure Python.
    max_bytes: int = 256 * 1024
    max_depth: int = 64  # nested collections, counted through aliases
    max_nodes: int = 20_000  # scalars and collections after alias expansion


DEFAULT_LIMITS = Limits()


class _Refused(Exception):
    """A bound was passed while composing; carries the line and the message for the SpecError."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


# What can change the flow-collection depth: quoted scalars and comments (skipped whole), and the brackets.
_FLOW_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|(?:^|(?<=\s))#[^\n]*|[\[\]{}]""", re.MULTILINE)


def _flow_depth_line(text: str, max_depth: int) -> int | None:
    """The line where ``[`` / ``{`` nesting first exceeds ``max_depth``, or None.

    A text pre-scan, because PyYAML's scanner spends seconds on a few thousand nested ``[`` before the
    composer sees the first node. It is an estimate (a bracket inside a plain scalar counts), so it refuses
    only far beyond any real keel.yaml; the composer's own depth bound is the exact one.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return None
    depth = 0
    for match in _FLOW_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return text.count("\n", 0, match.start()) + 1
        elif token in ("]", "}"):
            depth = max(0, depth - 1)
    return None


class _BoundedComposer(Composer):
    """PyYAML's composer, refusing documents deeper or larger than the limits as it goes.

    The composer recurses once per nesting level, so the depth bound also keeps it far from Python's
    recursion limit; counting composed nodes bounds the work on a large document without aliases.
    """

    limits: Limits = DEFAULT_LIMITS
    depth: int = 0
    composed: int = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        self.composed += 1
        try:
            if self.depth > self.limits.max_depth:
                raise _Refused(self._next_line(), _too_deep(self.limits))
            if self.composed > self.limits.max_nodes:
                raise _Refused(self._next_line(), _too_many(self.limits))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _next_line(self) -> int | None:
        event: yaml.Event = self.peek_event()  # type: ignore[attr-defined]  # from the parser beside it
        return _line(event.start_mark)


class _PythonLoader(_BoundedComposer, yaml.SafeLoader):
    """Everything in Python (PyYAML without libyaml)."""


class _LibyamlLoader(_BoundedComposer, CParser, SafeConstructor, Resolver):
    """libyaml scans and parses (about eight times faster than Python here); composing stays bounded."""

    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        _BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


def _loader(text: str, limits: Limits) -> _PythonLoader:
    """A bounded safe loader; typed as the Python one, which has the same methods."""
    loader: _PythonLoader = _LibyamlLoader(text) if LIBYAML else _PythonLoader(text)  # type: ignore[assignment]
    loader.limits = limits
    return loader


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _too_deep(limits: Limits) -> str:
    return f"YAML nested more than {limits.max_depth} levels deep (counting through aliases): refused"


def _too_many(limits: Limits) -> str:
    return f"YAML expands to more than {limits.max_nodes:,} nodes (counting each alias use): refused"


def _check_expansion(root: yaml.Node, limits: Limits) -> None:
    """Count the nodes the document would become once every alias is expanded, without expanding it.

    Aliases are shared node objects in the composed graph; each node's expanded size and height are computed
    once (memoised by identity), so a billion-laughs document is measured in a few hundred steps. An alias
    that refers to its own ancestor (a recursive document) is refused too.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded node count, height below it)
    active: set[int] = set()

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            if depth + known[1] > limits.max_depth:
                raise _Refused(_line(node.start_mark), _too_deep(limits))
            return known
        if depth > limits.max_depth:
            raise _Refused(_line(node.start_mark), _too_deep(limits))
        if key in active:
            raise _Refused(_line(node.start_mark), "YAML alias refers to a node that contains it: refused")
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        active.add(key)
        total, height = 1, 0
        for child in children:
            count, below = measure(child, depth + 1)
            total += count
            height = max(height, below + 1)
            if total > limits.max_nodes:
                raise _Refused(_line(node.start_mark), _too_many(limits))
        active.discard(key)
        sizes[key] = (total, height)
        return total, height

    measure(root, 1)


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


def parse_yaml(text: str, file: str, limits: Limits = DEFAULT_LIMITS) -> YamlDocument:
    """Parse one YAML document, keeping line numbers; syntax errors and documents beyond ``limits`` (checked
    before any Python object is built) become a SpecError."""
    if len(text) > limits.max_bytes:
        raise SpecError([Problem(file, None, "", _too_large(len(text), limits))])
    deep_at = _flow_depth_line(text, limits.max_depth)
    if deep_at is not None:
        raise SpecError([Problem(file, deep_at, "", _too_deep(limits))])
    loader = _loader(text, limits)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(file, None, {})
        _check_expansion(node, limits)
        lines: dict[KeyPath, int] = {}
        _index_lines(node, (), lines, file)
        data = loader.construct_document(node)
    except _Refused as exc:
        raise SpecError([Problem(file, exc.line, "", exc.message)]) from None
    except RecursionError:  # a backstop: the bounds above keep the composer far from the recursion limit
        raise SpecError([Problem(file, None, "", _too_deep(limits))]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError([Problem(file, line, "", f"invalid YAML: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(file, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return YamlDocument(file, data, lines)


def _too_large(size: int, limits: Limits) -> str:
    return f"file is larger than {limits.max_bytes:,} bytes ({size:,} or more): refused"


def read_yaml(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> YamlDocument:
    """Read and parse a YAML file; a missing, unreadable or oversized file is a SpecError naming it.

    At most ``limits.max_bytes + 1`` bytes are read, so a huge file (or a device that never ends) costs
    nothing.
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(limits.max_bytes + 1)
        if len(raw) > limits.max_bytes:
            size = max(len(raw), p.stat().st_size)
            raise SpecError([Problem(str(p), None, "", _too_large(size, limits))])
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(str(p), None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(str(p), None, "", f"cannot read file: {exc}")]) from None
    return parse_yaml(text, str(p), limits)


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
