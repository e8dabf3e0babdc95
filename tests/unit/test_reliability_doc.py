"""docs/reliability.md names, for every scenario, the test that proves it: each row must
name at least one test, and each test named must exist, so the table cannot drift."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "reliability.md"
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::((?:\w+::)?test_\w+)(?:\[[^\]`]*\])?`")
SEPARATOR_ROW = re.compile(r"^\|[\s:|-]+\|$")


def table_rows(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every table row that is neither a header nor a separator."""
    lines = text.splitlines()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith("|") or SEPARATOR_ROW.match(line.strip()):
            continue
        following = lines[number] if number < len(lines) else ""
        if SEPARATOR_ROW.match(following.strip()):
            continue  # the header of a table
        rows.append((number, line))
    return rows


@cache
def defined_tests(path: str) -> frozenset[str]:
    """Test functions of a file: `test_x` at module level, `Class::test_x` in classes."""
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return frozenset(name for name in found if name.rpartition("::")[2].startswith("test_"))


def test_the_document_has_tables_for_every_area() -> None:
    text = DOCUMENT.read_text()
    for heading in ("## Bad input", "## Secrets", "## Guards", "## Faults"):
        assert f"\n{heading}" in text, heading
    assert len(table_rows(text)) >= 30


def test_every_row_names_a_test() -> None:
    missing = [
        f"docs/reliability.md:{number}: {line[:80]}"
        for number, line in table_rows(DOCUMENT.read_text())
        if not TEST_REFERENCE.search(line.rsplit("|", 2)[-2])
    ]
    assert missing == []


def test_every_test_named_exists() -> None:
    text = DOCUMENT.read_text()
    references = TEST_REFERENCE.findall(text)
    assert references
    absent = [
        f"{path}::{name}"
        for path, name in references
        if not (ROOT / path).is_file() or name not in defined_tests(path)
    ]
    assert absent == []


@pytest.mark.parametrize(
    ("row", "names_a_test"),
    [
        ("| a | b | c | `tests/unit/test_x.py::test_y` |", True),
        ("| a | b | c | `tests/unit/test_x.py::test_y[alias-bomb]` |", True),
        ("| a | b | c | `tests/unit/test_x.py::Suite::test_y` |", True),
        ("| a | b | `tests/unit/test_x.py::test_y` | none |", False),
        ("| a | b | c | tests/unit/test_x.py::test_y |", False),
    ],
)
def test_a_test_is_named_in_backquotes_in_the_last_column(row: str, names_a_test: bool) -> None:
    assert bool(TEST_REFERENCE.search(row.rsplit("|", 2)[-2])) is names_a_test
