"""keel.yamlfile treats keel.yaml and smoke.yaml as untrusted: bounds on size, depth and alias expansion."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel import yamlfile
from keel.yamlfile import Limits, SpecError, parse_yaml, read_yaml


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: each level is nine aliases of the one before (9**9 strings when expanded)."""
    lines = ['lol: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.fixture(params=["libyaml", "python"], autouse=True)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every bound holds with libyaml's parser and with PyYAML's pure-Python one."""
    if request.param == "libyaml" and not yamlfile.LIBYAML:
        pytest.skip("PyYAML built without libyaml")
    monkeypatch.setattr(yamlfile, "LIBYAML", request.param == "libyaml")
    yield request.param


def refused(text: str, limits: Limits = yamlfile.DEFAULT_LIMITS) -> tuple[str, float]:
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "keel.yaml", limits)
    return str(info.value), time.perf_counter() - start


def test_the_billion_laughs_is_refused_before_it_expands() -> None:
    text = billion_laughs()
    assert len(text) < 700
    message, seconds = refused(text)
    # line 6 is l5, the first level past the bound (9**5 strings)
    assert message == "keel.yaml:6: YAML expands to more than 20,000 nodes (counting each alias use): refused"
    assert seconds < 1.0  # a few ms here; expanding it took minutes and gigabytes


def test_aliases_within_the_bound_still_work() -> None:
    doc = parse_yaml("base: &b {a: 1, b: [1, 2]}\nx: *b\ny: *b\n", "keel.yaml")
    assert doc.data["x"] == doc.data["y"] == {"a": 1, "b": [1, 2]}


def test_the_bound_counts_expanded_nodes_not_written_ones() -> None:
    text = billion_laughs(levels=3)  # 1 + 9 + 81 + 729 strings and lists, about 900 nodes expanded
    assert parse_yaml(text, "keel.yaml").data["l3"][0][0] == ["lol"] * 9
    message, _ = refused(text, Limits(max_nodes=500))
    assert "expands to more than 500 nodes" in message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * 10_000 + "]" * 10_000, 1),
        ("{a: " * 10_000 + "1" + "}" * 10_000, 1),
        ("service: x\nnested:\n  " + "[" * 10_000 + "]" * 10_000 + "\n", 3),
        ("".join("  " * i + "a:\n" for i in range(200)) + "  " * 200 + "b\n", 64),
    ],
    ids=["flow-sequences", "flow-mappings", "below-a-key", "block-mappings"],
)
def test_deep_nesting_is_refused_with_its_line(text: str, line: int) -> None:
    message, seconds = refused(text)
    assert message == (
        f"keel.yaml:{line}: YAML nested more than 64 levels deep (counting through aliases): refused"
    )
    assert seconds < 1.0


def test_depth_through_aliases_counts() -> None:
    inner = "[" * 40 + "1" + "]" * 40
    text = f"a: &a {inner}\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"
    message, _ = refused(text)
    assert "nested more than 64 levels deep" in message
    assert (
        parse_yaml(f"a: &a {inner}\nb: [[*a]]\n", "keel.yaml").data["b"][0][0] == parse_yaml(inner, "x").data
    )


def test_brackets_inside_quoted_strings_and_comments_do_not_count() -> None:
    text = 'pattern: "' + "[" * 100 + '"\n' + "other: '" + "{" * 100 + "'\n# " + "[" * 100 + "\n"
    assert parse_yaml(text, "keel.yaml").data["pattern"] == "[" * 100


def test_a_recursive_alias_is_refused() -> None:
    message, _ = refused("a: &a [1, *a]\n")
    assert message == "keel.yaml:1: YAML alias refers to a node that contains it: refused"


def test_many_nodes_without_aliases_are_refused() -> None:
    message, seconds = refused("[" + ", ".join(["1"] * 30_000) + "]")
    assert "expands to more than 20,000 nodes" in message
    assert seconds < 10.0  # about 0.2 s with libyaml, 1 s in pure Python on an idle machine


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "keel.yaml"
    with path.open("wb") as f:
        f.write(b"service: x\nnote: ")
        f.write(b"x" * (50 * 1024 * 1024))
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    assert time.perf_counter() - start < 1.0
    assert str(info.value) == (f"{path}: file is larger than 262,144 bytes (52,428,817 or more): refused")


def test_the_size_bound_applies_to_text_too() -> None:
    message, _ = refused("a: " + "x" * 300_000)
    assert message == "keel.yaml: file is larger than 262,144 bytes (300,003 or more): refused"


def test_syntax_errors_still_name_the_line() -> None:
    message, _ = refused("service: x\nenvironments:\n  local: [1, 2\n")
    assert message.startswith("keel.yaml:4: invalid YAML: ")


def test_the_repository_files_are_well_inside_the_bounds() -> None:
    root = Path(__file__).resolve().parents[2]
    for name in ("keel.yaml", "smoke.yaml"):
        doc = read_yaml(root / name)
        assert doc.data
