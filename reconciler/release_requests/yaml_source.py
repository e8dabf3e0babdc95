"""Reads one YAML file into JSON-shaped data plus the position of every value in it.

Loading's first step: safe YAML only, with limits on size, encoding, documents and aliases.
PyYAML's parser and composer build the nodes from libyaml's tokens when PyYAML has it
(C: about four times faster); anything short of a clean document is read again with
PyYAML's own scanner, whose error messages the hints are written for.

Longer than most modules because the fast composer, its limits and the slow re-read
must agree line by line on what counts as one clean document: split, they drift.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.resolver import Resolver

from reconciler.release_requests.diagnostics import (
    Diagnostic,
    JsonPath,
    NodeInfo,
    Position,
    SourceMap,
    file_diagnostic,
)
from reconciler.types import JsonObject, JsonValue

_TAG = "tag:yaml.org,2002:"
_PLAIN_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}
_PLAIN_TAGS = {"map": f"{_TAG}map", "seq": f"{_TAG}seq"}
_TIMESTAMP_TAG = f"{_TAG}timestamp"
_MERGE_TAG = f"{_TAG}merge"
_NULL_TAG = f"{_TAG}null"
MAX_INTEGER_BITS = 14_000
"""About 4200 decimal digits: YAML reads hexadecimal (`0xfff...`) and binary integers of
any length, but Python writes (JSON, the cache, a request body) at most 4300 digits."""


def holds_huge_integer(value: object) -> bool:
    """Whether `value`, as a YAML library returned it, holds an integer over
    `MAX_INTEGER_BITS` (writing it as text would raise). Each shared (aliased) value is
    looked at once."""
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if isinstance(item, int) and item.bit_length() > MAX_INTEGER_BITS:
            return True
        if isinstance(item, dict | list) and id(item) not in seen:
            seen.add(id(item))
            pending.extend([*item.keys(), *item.values()] if isinstance(item, dict) else item)
    return False


_PLAIN_VALUES_HINT = "use plain values: strings, numbers, booleans, null, lists and mappings"

_SYNTAX_HINTS = (
    ("'\\t'", "indent with spaces: YAML does not allow tabs there"),
    ("mapping values are not allowed", "quote a value that contains ': '"),
    ("undefined alias", "define the anchor (&name) before using it (*name)"),
    ("could not find expected ':'", "a key needs ': ' after it; look for a missing quote"),
    ("found unexpected end of stream", "a quote or bracket is not closed"),
)


@dataclass(frozen=True)
class YamlLimits:
    """Hard limits that keep a hostile or broken file from exhausting memory or time."""

    max_bytes: int = 1 << 20
    max_aliases: int = 100
    max_alias_nodes: int = 10_000
    """How many values aliases may add to a document by repeating anchored ones."""
    max_depth: int = 100


DEFAULT_LIMITS = YamlLimits()


@dataclass(frozen=True)
class YamlDocument:
    data: JsonObject
    source: SourceMap


@dataclass(frozen=True)
class YamlRead:
    """The document (None when unusable) and the problems found reading it."""

    document: YamlDocument | None
    problems: tuple[Diagnostic, ...] = field(default=())


class _LimitExceeded(Exception):
    def __init__(self, message: str, mark: yaml.Mark | None, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.position = _position(mark)
        self.hint = hint


def _position(mark: yaml.Mark | None) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)


def read_yaml_file(
    path: Path, *, display_name: str, limits: YamlLimits = DEFAULT_LIMITS
) -> YamlRead:
    """Read `path`, reporting problems under `display_name`."""
    raw = read_limited(path, display_name=display_name, limits=limits)
    if isinstance(raw, Diagnostic):
        return YamlRead(None, (raw,))
    return parse_yaml_bytes(raw, display_name=display_name, limits=limits)


def read_limited(path: Path, *, display_name: str, limits: YamlLimits) -> bytes | Diagnostic:
    """The file's bytes, or why they cannot be read (missing, unreadable, too large)."""
    too_large = f"larger than {limits.max_bytes} bytes"
    split_hint = "keep release files small; move large values into valuesFiles"
    try:
        if path.stat().st_size > limits.max_bytes:
            return file_diagnostic(display_name, f"file is {too_large}", split_hint)
        with path.open("rb") as stream:
            raw = stream.read(limits.max_bytes + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        return file_diagnostic(display_name, f"cannot read the file: {reason}", "check it")
    if len(raw) > limits.max_bytes:
        return file_diagnostic(display_name, f"file is {too_large}", split_hint)
    return raw


def parse_yaml_bytes(
    raw: bytes, *, display_name: str, limits: YamlLimits = DEFAULT_LIMITS
) -> YamlRead:
    nul = raw.find(b"\x00")
    if nul >= 0:
        return YamlRead(
            None,
            (
                file_diagnostic(
                    display_name,
                    "binary file (it contains NUL bytes), not YAML text",
                    "save it as UTF-8 text (UTF-16 files contain NUL bytes too)",
                    at=_byte_position(raw, nul),
                ),
            ),
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return YamlRead(
            None,
            (
                file_diagnostic(
                    display_name,
                    f"not UTF-8 text (byte 0x{raw[error.start]:02x} is invalid here)",
                    "save the file as UTF-8",
                    at=_byte_position(raw, error.start),
                ),
            ),
        )
    return parse_yaml_text(text.removeprefix("\ufeff"), display_name=display_name, limits=limits)


def _byte_position(raw: bytes, offset: int) -> Position:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Position(raw.count(b"\n", 0, offset) + 1, column)


def parse_yaml_text(
    text: str, *, display_name: str, limits: YamlLimits = DEFAULT_LIMITS
) -> YamlRead:
    if _LIBYAML_COMPOSER is not None and _scans_alike(text):
        read = _read(_LIBYAML_COMPOSER, text, display_name, limits)
        if read.document is not None and not read.problems:
            return read
    return _read(_PythonComposer, text, display_name, limits)


def _read(
    composer: Callable[[str, YamlLimits], _Composer],
    text: str,
    display_name: str,
    limits: YamlLimits,
) -> YamlRead:
    """`text` read through `composer`, its syntax errors and exceeded limits as problems."""
    try:
        return _parse(composer(text, limits), display_name, limits)
    except _LimitExceeded as limit:
        problem = file_diagnostic(display_name, limit.message, limit.hint, at=limit.position)
    except yaml.MarkedYAMLError as error:
        problem = _syntax_diagnostic(display_name, error)
    except yaml.reader.ReaderError as error:
        offset = error.position
        line_start = text.rfind("\n", 0, offset) + 1
        at = Position(text.count("\n", 0, offset) + 1, offset - line_start + 1)
        message = f"character U+{error.character:04X} is not allowed in YAML"
        problem = file_diagnostic(display_name, message, "remove the character", at=at)
    return YamlRead(None, (problem,))


def _scans_alike(text: str) -> bool:
    """Whether libyaml's scanner gives PyYAML's tokens and marks for `text`.

    It differs on tabs (libyaml accepts them where PyYAML refuses them) and, without a
    final line break, on the mark of the end of the file. Elsewhere it only accepts a few
    odd spellings PyYAML refuses, such as `|#comment` or a `?` inside a flow collection.
    """
    return text.endswith("\n") and "\t" not in text


def _parse(loader: _Composer, display_name: str, limits: YamlLimits) -> YamlRead:
    try:
        root = loader.get_single_node()
        if root is None or (root.tag == _NULL_TAG and root.value == ""):
            empty = file_diagnostic(display_name, "the file is empty", "write a YAML mapping in it")
            return YamlRead(None, (empty,))
        if not isinstance(root, MappingNode):
            problem = file_diagnostic(
                display_name,
                "the document is not a YAML mapping",
                "write `key: value` lines at the top level",
                at=_position(root.start_mark),
            )
            return YamlRead(None, (problem,))
        builder = _DocumentBuilder(display_name, limits, loader)
        builder.nodes[()] = NodeInfo(_position(root.start_mark))
        data = builder.mapping(root, ())
    finally:
        loader.dispose()
    document = YamlDocument(data, SourceMap(display_name, builder.nodes))
    return YamlRead(document, tuple(builder.problems))


def _syntax_diagnostic(display_name: str, error: yaml.MarkedYAMLError) -> Diagnostic:
    problem = error.problem or "invalid YAML"
    if error.context == "expected a single document in the stream":
        return file_diagnostic(
            display_name,
            "more than one YAML document in the file",
            "put one release per file; remove the '---' separator",
            at=_position(error.problem_mark),
        )
    context = f" {error.context}" if error.context else ""
    hint = next(
        (hint for needle, hint in _SYNTAX_HINTS if needle in problem),
        "check the indentation and quoting here",
    )
    return file_diagnostic(
        display_name,
        f"YAML syntax error: {problem}{context}",
        hint,
        at=_position(error.problem_mark or error.context_mark),
    )


class _Composer(Parser, Composer, SafeConstructor, Resolver):
    """PyYAML's safe parser and composer, counting aliases and nesting while they build the
    node tree. The classes below add the scanner that gives them tokens.
    """

    def __init__(self, limits: YamlLimits) -> None:
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._limits = limits
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self._limits.max_aliases:
                raise _LimitExceeded(
                    f"more than {self._limits.max_aliases} aliases",
                    self._next_mark(),
                    "repeat the values instead of using so many aliases (*name)",
                )
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > self._limits.max_depth:
                raise _LimitExceeded(
                    f"nested deeper than {self._limits.max_depth} levels",
                    self._next_mark(),
                    "flatten the structure",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> yaml.Mark:
        return self.peek_event().start_mark  # type: ignore[no-untyped-call,no-any-return]


class _PythonComposer(yaml.reader.Reader, yaml.scanner.Scanner, _Composer):
    """All in Python: PyYAML's own messages for every syntax error."""

    def __init__(self, text: str, limits: YamlLimits) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        _Composer.__init__(self, limits)


_LIBYAML_COMPOSER: Callable[[str, YamlLimits], _Composer] | None = None
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _LibyamlComposer(_Composer, CParser):
        """libyaml's scanner (its tokens only) under PyYAML's parser: PyYAML's events and marks."""

        def __init__(self, text: str, limits: YamlLimits) -> None:
            CParser.__init__(self, text)
            _Composer.__init__(self, limits)

    _LIBYAML_COMPOSER = _LibyamlComposer


class _DocumentBuilder:
    """Turns the node tree into JSON-shaped values, recording where each one was written."""

    def __init__(self, display_name: str, limits: YamlLimits, loader: SafeConstructor) -> None:
        self.nodes: dict[JsonPath, NodeInfo] = {}
        self.problems: list[Diagnostic] = []
        self._source = SourceMap(display_name, self.nodes)
        self._limits = limits
        self._loader = loader
        self._active: set[int] = set()
        self._seen: set[int] = set()
        self._visits = 0

    def value(self, node: Node, path: JsonPath, key: Node | None) -> JsonValue:
        scalar = node.value if isinstance(node, ScalarNode) and not node.style else None
        key_position = _position(key.start_mark) if key else None
        self.nodes[path] = NodeInfo(_position(node.start_mark), key_position, scalar)
        with self._visiting(node, path):
            if isinstance(node, ScalarNode):
                return self._scalar(node, path)
            kind = "map" if isinstance(node, MappingNode) else "seq"
            if node.tag != _PLAIN_TAGS[kind]:
                self._unsupported_tag(node, path)
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            items = enumerate(node.value)
            return [self.value(item, (*path, index), None) for index, item in items]

    @contextmanager
    def _visiting(self, node: Node, path: JsonPath) -> Iterator[None]:
        """Counts values as aliases expand them; a value inside itself is an error."""
        if id(node) in self._active:
            raise _LimitExceeded(
                "an alias refers to a value that contains it",
                node.start_mark,
                "a YAML value cannot contain itself; copy the part you need",
            )
        self._visits += 1
        self._seen.add(id(node))
        if self._visits - len(self._seen) > self._limits.max_alias_nodes:
            raise _LimitExceeded(
                f"aliases expand the document by more than {self._limits.max_alias_nodes} values",
                node.start_mark,
                "this looks like an alias bomb; write the values out instead",
            )
        if len(path) > self._limits.max_depth:
            raise _LimitExceeded(
                f"nested deeper than {self._limits.max_depth} levels",
                node.start_mark,
                "flatten the structure",
            )
        self._active.add(id(node))
        try:
            yield
        finally:
            self._active.discard(id(node))

    def mapping(self, node: MappingNode, path: JsonPath) -> JsonObject:
        merged: JsonObject = {}
        explicit: JsonObject = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged = self._merge(value_node, path) | merged
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    self._source.diagnostic(
                        path,
                        "a mapping key must be a plain value, not a list or mapping",
                        "use a string key",
                        at=_position(key_node.start_mark),
                    )
                )
                continue
            key = str(key_node.value)
            here = _position(key_node.start_mark)
            first = first_seen.setdefault(key, here)
            if first != here:
                self.problems.append(
                    self._source.diagnostic(
                        (*path, key),
                        f"duplicate key '{key}' (first at line {first.line})",
                        "remove one of them: YAML would silently keep only the last",
                        at=here,
                    )
                )
                continue
            explicit[key] = self.value(value_node, (*path, key), key_node)
        return merged | explicit

    def _merge(self, node: Node, path: JsonPath) -> JsonObject:
        """YAML merge keys (`<<: *defaults`): earlier sources win, explicit keys win over all."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        result: JsonObject = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                self.problems.append(
                    self._source.diagnostic(
                        path,
                        "'<<' can only merge mappings",
                        "merge a mapping (*name)",
                        at=_position(source.start_mark),
                    )
                )
                continue
            with self._visiting(source, path):
                result = self.mapping(source, path) | result
        return result

    def _scalar(self, node: ScalarNode, path: JsonPath) -> JsonValue:
        if node.tag == _TIMESTAMP_TAG:
            # Kept as written, as Helm does: a date is a string to a chart.
            return str(node.value)
        if node.tag not in _PLAIN_SCALAR_TAGS:
            self._unsupported_tag(node, path)
            return None
        try:
            value = self._loader.construct_object(node)
        except (ValueError, KeyError, IndexError):  # IndexError: PyYAML on an empty !!int
            kind = str(node.tag).removeprefix(_TAG)
            self.problems.append(
                self._source.diagnostic(
                    path, f"'{node.value}' is not a valid {kind}", f"remove the !!{kind} tag"
                )
            )
            return None
        if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
            self.problems.append(
                self._source.diagnostic(
                    path, "an integer of thousands of digits", "quote it to keep it as text"
                )
            )
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append(
                self._source.diagnostic(
                    path, f"{node.value} is not a finite number", f'quote it: "{node.value}"'
                )
            )
            return None
        assert value is None or isinstance(value, str | int | float | bool)
        return value

    def _unsupported_tag(self, node: Node, path: JsonPath) -> None:
        self.problems.append(
            self._source.diagnostic(path, f"unsupported YAML tag {node.tag}", _PLAIN_VALUES_HINT)
        )
