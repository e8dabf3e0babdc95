"""Reading one YAML file: safe values, positions, and every kind of bad input with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.release_requests import yaml_source
from reconciler.release_requests.diagnostics import Position
from reconciler.release_requests.yaml_source import (
    DEFAULT_LIMITS,
    YamlLimits,
    YamlRead,
    parse_yaml_bytes,
    parse_yaml_text,
    read_yaml_file,
)


def only_problem(read: YamlRead) -> tuple[int, int, str, str]:
    assert len(read.problems) == 1, read.problems
    problem = read.problems[0]
    assert problem.hint
    return problem.line, problem.column, problem.message, problem.path


def test_values_come_with_the_position_of_their_value_and_key() -> None:
    read = parse_yaml_text("a:\n  b: [1, x]\n  'c d': true\n", display_name="f.yaml")
    assert read.problems == ()
    assert read.document is not None
    assert read.document.data == {"a": {"b": [1, "x"], "c d": True}}
    nodes = read.document.source.nodes
    assert nodes[("a", "b", 1)].value == Position(2, 10)
    assert nodes[("a", "c d")].key == Position(3, 3)
    assert nodes[("a", "b", 0)].scalar == "1"


def test_timestamps_stay_strings_as_helm_reads_them() -> None:
    read = parse_yaml_text("at: 2026-11-23T10:00:00Z\nday: 2026-11-23\n", display_name="f")
    assert read.document is not None
    assert read.document.data == {"at": "2026-11-23T10:00:00Z", "day": "2026-11-23"}


def test_mapping_keys_are_kept_as_written() -> None:
    read = parse_yaml_text("80: http\ntrue: yes\n", display_name="f")
    assert read.document is not None
    assert read.document.data == {"80": "http", "true": True}


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    text = "base: &base {a: 1, b: 2}\nother:\n  <<: *base\n  b: 3\n"
    read = parse_yaml_text(text, display_name="f")
    assert read.problems == ()
    assert read.document is not None
    assert read.document.data["other"] == {"a": 1, "b": 3}


def test_a_duplicate_key_is_an_error_at_the_second_key() -> None:
    read = parse_yaml_text("name: a\nspec:\n  x: 1\n  x: 2\nname: b\n", display_name="f")
    problems = [(p.line, p.column, p.message) for p in read.problems]
    assert problems == [
        (4, 3, "duplicate key 'x' (first at line 3)"),
        (5, 1, "duplicate key 'name' (first at line 1)"),
    ]


def test_an_alias_bomb_is_stopped_before_it_expands() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    line, _, message, _ = only_problem(parse_yaml_text("\n".join(lines), display_name="f"))
    assert "aliases expand the document by more than 10000 values" in message
    assert line <= 6


def test_too_many_aliases_are_an_error_at_the_first_one_over_the_limit() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 5) + "]\n"
    read = parse_yaml_text(text, display_name="f", limits=YamlLimits(max_aliases=3))
    assert only_problem(read) == (2, 17, "more than 3 aliases", "$")


def test_an_alias_that_contains_itself_is_an_error() -> None:
    line, _, message, _ = only_problem(parse_yaml_text("a: &a [1, *a]\n", display_name="f"))
    assert (line, message) == (1, "an alias refers to a value that contains it")


def test_deep_nesting_is_an_error_at_the_level_over_the_limit() -> None:
    text = "a: " + "[" * 5 + "]" * 5 + "\n"
    read = parse_yaml_text(text, display_name="f", limits=YamlLimits(max_depth=4))
    assert only_problem(read) == (1, 7, "nested deeper than 4 levels", "$")


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n")
    read = read_yaml_file(path, display_name="big.yaml", limits=YamlLimits(max_bytes=64))
    assert only_problem(read) == (1, 1, "file is larger than 64 bytes", "$")


def test_text_that_is_not_utf8_is_an_error_at_the_bad_byte() -> None:
    read = parse_yaml_bytes("name: café\nx: \xe9\n".encode("latin-1"), display_name="f")
    assert only_problem(read) == (1, 10, "not UTF-8 text (byte 0xe9 is invalid here)", "$")


def test_a_binary_file_is_an_error_at_its_first_nul_byte() -> None:
    read = parse_yaml_bytes(b"a: 1\nb: \x00\x01\x02\n", display_name="f")
    assert only_problem(read) == (2, 4, "binary file (it contains NUL bytes), not YAML text", "$")


def test_a_byte_order_mark_is_accepted() -> None:
    read = parse_yaml_bytes("\ufeffa: 1\n".encode(), display_name="f")
    assert read.document is not None and read.document.data == {"a": 1}


def test_several_documents_in_one_file_are_an_error_at_the_second() -> None:
    read = parse_yaml_text("a: 1\n---\nb: 2\n", display_name="f")
    assert only_problem(read) == (2, 1, "more than one YAML document in the file", "$")


def test_a_leading_document_marker_is_fine() -> None:
    read = parse_yaml_text("---\na: 1\n", display_name="f")
    assert read.problems == () and read.document is not None


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_is_an_error(text: str) -> None:
    assert only_problem(parse_yaml_text(text, display_name="f"))[2] == "the file is empty"


def test_a_document_that_is_not_a_mapping_is_an_error() -> None:
    read = parse_yaml_text("\n- a\n- b\n", display_name="f")
    assert only_problem(read) == (2, 1, "the document is not a YAML mapping", "$")


def test_a_tab_in_the_indentation_is_a_syntax_error_with_a_hint() -> None:
    read = parse_yaml_text("a:\n\tb: 1\n", display_name="f")
    line, column, message, _ = only_problem(read)
    assert (line, column) == (2, 1)
    assert message.startswith("YAML syntax error")
    assert "tabs" in read.problems[0].hint


def test_a_control_character_is_an_error_at_its_place() -> None:
    read = parse_yaml_text("a: 1\nb: x\x07\n", display_name="f")
    assert only_problem(read) == (2, 5, "character U+0007 is not allowed in YAML", "$")


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!binary aGVsbG8=\n", "tag:yaml.org,2002:binary"),
        ("a: !!python/name:os.system x\n", "tag:yaml.org,2002:python/name:os.system"),
        ("a: !Ref other\n", "!Ref"),
        ("a: !!set {x, y}\n", "tag:yaml.org,2002:set"),
    ],
)
def test_tags_beyond_plain_values_are_refused(text: str, tag: str) -> None:
    read = parse_yaml_text(text, display_name="f")
    assert only_problem(read) == (1, 4, f"unsupported YAML tag {tag}", "$.a")


def test_infinity_is_not_a_number_json_can_hold() -> None:
    read = parse_yaml_text("a: .inf\n", display_name="f")
    assert only_problem(read) == (1, 4, ".inf is not a finite number", "$.a")


def test_a_list_as_a_mapping_key_is_an_error() -> None:
    read = parse_yaml_text("? [a, b]\n: 1\n", display_name="f")
    assert only_problem(read)[2] == "a mapping key must be a plain value, not a list or mapping"


def test_an_unreadable_file_is_an_error_not_an_exception(tmp_path: Path) -> None:
    read = read_yaml_file(tmp_path / "missing.yaml", display_name="missing.yaml")
    assert only_problem(read)[2].startswith("cannot read the file")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!int abc\n", "'abc' is not a valid int"),
        ("a: !!bool maybe\n", "'maybe' is not a valid bool"),
        ("a: !!float x\n", "'x' is not a valid float"),
        ("a: !!int \n", "'' is not a valid int"),
    ],
)
def test_a_value_its_explicit_tag_cannot_read_is_an_error(text: str, message: str) -> None:
    assert only_problem(parse_yaml_text(text, display_name="f")) == (1, 4, message, "$.a")


def test_a_merge_that_contains_itself_is_an_error() -> None:
    read = parse_yaml_text("a: &a {x: {<<: *a}}\n", display_name="f")
    assert only_problem(read)[2] == "an alias refers to a value that contains it"


REPOSITORY = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(
    path
    for folder in ("examples", "tests/fixtures")
    for path in (REPOSITORY / folder).rglob("*")
    if path.suffix in (".yaml", ".yml") and path.is_file()
)
CLEAN_DOCUMENTS = [
    "a: 1\nb:\nc: ~\nd: ''\n",
    "a:\n  - x\n  -\n  - {k: v, e: }\n  - [1, 2.5, -3, 0x1F, .5, 1e3, yes, No]\n",
    "a: \"é \\u00e9 \\t tab escape\"\nb: 'it''s'\nc: plain # comment\n",
    "text: |\n  line one\n   indented\n\nfolded: >-\n  one\n  two\nkeep: |+\n  x\n\n",
    "base: &base {a: 1, b: [x, y]}\nother:\n  <<: *base\n  b: 2\nagain: *base\n",
    "? complex\n: value\n'quoted key': 1\n\"80\": http\n",
    "---\nwindows: line endings\r\nnested:\r\n  k: v\r\n",
    "ünïcödé: ✓\nemoji: 😀\nlong: 2026-11-23T10:00:00Z\n",
    "empty_map: {}\nempty_list: []\nnull_value: null\nbool: true\n...\n",
]
DIFFERENTLY_SCANNED = [
    "a: 1\t\n",
    "a:\t1\n",
    "a: [1,\t2]\n",
    "a: 1\nb:",
    "a: &x 1\nb: *x",
    "a: !!binary aGVsbG8=\n",
    "a: {b: c\n",
    "a: 1\n---\nb: 2\n",
    "a: x\x07\n",
]


def exact_reading(text: str) -> YamlRead:
    """The text read by PyYAML's own scanner, as every file was before libyaml's."""
    return yaml_source._read(yaml_source._PythonComposer, text, "f", DEFAULT_LIMITS)


@pytest.mark.skipif(yaml_source._LIBYAML_COMPOSER is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("text", CLEAN_DOCUMENTS)
def test_libyamls_scanner_gives_the_same_values_and_positions_as_pyyamls(text: str) -> None:
    assert yaml_source._LIBYAML_COMPOSER is not None
    read = yaml_source._read(yaml_source._LIBYAML_COMPOSER, text, "f", DEFAULT_LIMITS)
    assert read.document is not None and read.problems == ()
    assert read == exact_reading(text)


@pytest.mark.parametrize("text", DIFFERENTLY_SCANNED)
def test_a_text_libyaml_would_read_otherwise_is_read_as_pyyaml_reads_it(text: str) -> None:
    assert parse_yaml_text(text, display_name="f") == exact_reading(text)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda path: str(path.relative_to(REPOSITORY)))
def test_every_yaml_file_of_the_examples_and_fixtures_reads_as_pyyaml_reads_it(
    path: Path,
) -> None:
    text = path.read_text(encoding="utf-8")
    assert parse_yaml_text(text, display_name="f") == exact_reading(text)
