"""Reads rendered manifests (Helm, Kustomize, plain YAML) as the API server's clients do.

The last step of every engine before plugins and ownership metadata: a multi-document
YAML stream becomes JSON-shaped objects. Kubernetes' reader (YAML 1.1 through JSON) keeps
timestamps and `=` as strings, so this reader does too. Its error messages are Harmonia's
own words with a position: they never repeat the library's text, which may quote a value
(a password rendered as an unquoted `!tag`) and changes between library versions.
"""

from __future__ import annotations

import re

import yaml

from reconciler.release_requests.yaml_source import MAX_INTEGER_BITS
from reconciler.render.model import KubeObject, RenderError
from reconciler.types import JsonValue

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml: slower, same result.
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

MAX_DOCUMENT_VALUES = 1_000_000
"""More values than one object the API server could store (its requests stop at 3 MiB):
a manifest over it repeats anchored values by aliases (an alias bomb)."""
MAX_DEPTH = 256
"""Levels of nesting a rendered object may have: deeper than any real schema, and below
both libyaml's own limit and Python's recursion limit, so the refusal is always ours."""

_DOCUMENT_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)
_SOURCE_COMMENT = re.compile(r"^# Source: (.+)$", re.MULTILINE)
_STRING_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}
_NESTING_EVENTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING_EVENTS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_PROBLEMS: tuple[tuple[type[yaml.YAMLError], str], ...] = (
    (yaml.constructor.ConstructorError, "a value carries a tag Kubernetes does not read"),
    (yaml.composer.ComposerError, "an alias names no anchor, or a document is unfinished"),
    (
        yaml.scanner.ScannerError,
        "text that does not scan as YAML (a stray character, tab or quote)",
    ),
    (yaml.parser.ParserError, "a structure that is not closed or not indented consistently"),
    (yaml.reader.ReaderError, "a character YAML does not allow"),
)


class _KubernetesYamlLoader(_SafeLoader):
    """YAML read as Kubernetes reads it: timestamps and `=` stay strings."""


_KubernetesYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _STRING_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_manifests(text: str, *, subject: str) -> tuple[KubeObject, ...]:
    """The objects of a multi-document YAML stream, in order; empty documents dropped."""
    objects: list[KubeObject] = []
    for index, chunk in enumerate(_DOCUMENT_SEPARATOR.split(text)):
        source_match = _SOURCE_COMMENT.search(chunk)
        where = f"{subject}: {source_match.group(1)}" if source_match else subject
        # The common chunk is read in one walk over its nodes; one holding anything else
        # (an unusual tag, a merge key, an error) is read the library's way, which decides.
        walked = _plain_documents(chunk)
        # After a separator the chunk's first line is the rest of the `---` line.
        documents = (
            walked
            if walked is not None
            else _documents(chunk, where=where, first_line=1 if index == 0 else 0)
        )
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict):
                raise RenderError(f"{where}: rendered a document that is not a mapping")
            if not isinstance(document.get("apiVersion"), str) or not isinstance(
                document.get("kind"), str
            ):
                raise RenderError(f"{where}: rendered an object without apiVersion and kind")
            objects.append(document if walked is not None else _json_object(document, where=where))
    return tuple(objects)


class _NotPlain(Exception):
    """A chunk the node walk leaves to PyYAML's constructor and `_JsonConversion`."""


def _plain_documents(chunk: str) -> list[object] | None:
    """The chunk's documents as JSON, read straight from the parser's nodes; None when it
    holds anything but maps, sequences, strings, numbers, booleans and nulls within the
    limits (or fails to parse): the library's constructor then reads it as before, with
    its errors. Building each object once, not a YAML value then its JSON copy, takes
    about half the time of a render's parse."""
    loader = _KubernetesYamlLoader(chunk)
    try:
        documents: list[object] = []
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node said a document follows
            documents.append(_NodeWalk(loader).value(node, 0))
        return documents
    except (_NotPlain, yaml.YAMLError, ValueError, RecursionError):
        return None
    finally:
        loader.dispose()


_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:null": _KubernetesYamlLoader.construct_yaml_null,
    "tag:yaml.org,2002:bool": _KubernetesYamlLoader.construct_yaml_bool,
    "tag:yaml.org,2002:int": _KubernetesYamlLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": _KubernetesYamlLoader.construct_yaml_float,
}
"""The scalars besides strings the node walk reads, each by the constructor's own method."""


class _NodeWalk:
    """One document's nodes made JSON within `_JsonConversion`'s limits, so it reads
    nothing the conversion would refuse: past a limit it gives up and the conversion says
    why. A map or sequence met again (an alias) is left to the conversion too: a walk never
    expands an alias bomb only to hand it over."""

    def __init__(self, loader: _KubernetesYamlLoader) -> None:
        self.loader = loader
        self.left = MAX_DOCUMENT_VALUES
        self.collections: set[int] = set()

    def value(self, node: yaml.Node, depth: int) -> JsonValue:
        self.left -= 1
        if self.left < 0 or depth > MAX_DEPTH:
            raise _NotPlain
        tag = node.tag
        if tag == _STR and isinstance(node, yaml.ScalarNode):
            return str(node.value)
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self.collections:
                raise _NotPlain
            self.collections.add(id(node))
        if tag == _MAP and isinstance(node, yaml.MappingNode):
            return {self.key(key): self.value(item, depth + 1) for key, item in node.value}
        if tag == _SEQ and isinstance(node, yaml.SequenceNode):
            return [self.value(item, depth + 1) for item in node.value]
        return self.scalar(node)

    def key(self, node: yaml.Node) -> str:
        if node.tag == _STR and isinstance(node, yaml.ScalarNode):
            return str(node.value)
        return _json_key(self.scalar(node))

    def scalar(self, node: yaml.Node) -> JsonValue:
        construct = _SCALAR_CONSTRUCTORS.get(node.tag)
        if construct is None or not isinstance(node, yaml.ScalarNode):
            raise _NotPlain
        value: JsonValue = construct(self.loader, node)
        if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
            raise _NotPlain
        return value


def _documents(chunk: str, *, where: str, first_line: int) -> list[object]:
    try:
        return list(yaml.load_all(chunk, Loader=_KubernetesYamlLoader))
    except (yaml.YAMLError, RecursionError) as error:
        if _nested_deeper_than(chunk, MAX_DEPTH):
            raise _too_deep(where) from None
        problem = _problem(error, first_line=first_line)
        raise RenderError(f"{where}: rendered invalid YAML{problem}") from None
    except ValueError:
        # A constructor's own refusal: an integer over Python's 4300-digit limit, `!!binary`
        # that is not base64. Its text may quote the value, so it is not repeated.
        raise RenderError(
            f"{where}: rendered invalid YAML: a value that cannot be read (an integer of "
            "thousands of digits, or !!binary that is not base64)"
        ) from None


def _problem(error: BaseException, *, first_line: int) -> str:
    """Where and what, in Harmonia's words; the library's text is never repeated."""
    mark = error.problem_mark if isinstance(error, yaml.MarkedYAMLError) else None
    at = f" at line {mark.line + first_line}, column {mark.column + 1}" if mark else ""
    kind = next((text for cls, text in _PROBLEMS if isinstance(error, cls)), "")
    return f"{at}: {kind}" if kind else at


def _nested_deeper_than(chunk: str, limit: int) -> bool:
    """Whether the YAML events reach `limit` levels before the stream ends or breaks.

    PyYAML's own parser streams events without recursion or a nesting limit of its own;
    libyaml's scans a run of opening brackets whole and fails before its first event."""
    depth = 0
    try:
        for event in yaml.parse(chunk, Loader=yaml.SafeLoader):
            if isinstance(event, _NESTING_EVENTS):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, _CLOSING_EVENTS):
                depth -= 1
    except yaml.YAMLError:
        pass
    return False


def _too_deep(where: str) -> RenderError:
    return RenderError(f"{where}: rendered YAML nested too deeply (over {MAX_DEPTH} levels)")


def _json_object(document: dict[object, object], *, where: str) -> KubeObject:
    try:
        converted = _JsonConversion(where).value(document, 0)
    except RecursionError:
        raise _too_deep(where) from None
    assert isinstance(converted, dict)
    return converted


class _JsonConversion:
    """A parsed YAML value as JSON holds it; non-string keys become strings, as in
    Kubernetes. Counts the values it writes: aliases share one parsed value, which
    the copy would otherwise repeat without bound."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.left = MAX_DOCUMENT_VALUES

    def value(self, value: object, depth: int) -> JsonValue:
        self.left -= 1
        if self.left < 0:
            raise RenderError(
                f"{self.where}: rendered an object of over {MAX_DOCUMENT_VALUES} values "
                "(YAML aliases repeating values?)"
            )
        if depth > MAX_DEPTH:
            raise _too_deep(self.where)
        if isinstance(value, dict):
            return {self.key(key): self.value(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item, depth + 1) for item in value]
        self.check_integer(value)
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise RenderError(
            f"{self.where}: rendered a value JSON cannot hold ({type(value).__name__})"
        )

    def key(self, key: object) -> str:
        self.check_integer(key)
        return _json_key(key)

    def check_integer(self, value: object) -> None:
        if isinstance(value, int) and value.bit_length() > MAX_INTEGER_BITS:
            raise RenderError(f"{self.where}: rendered an integer of thousands of digits")


def _json_key(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)
