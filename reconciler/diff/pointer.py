"""JSON pointers (RFC 6901): naming the fields a release tells the diff to ignore, and
the fields a diff found changed. Pure.

`~1` stands for `/` and `~0` for `~` inside a token; a token naming a list element is
its index. Removing a field that is not there does nothing, as in Flux's
`jsondiff.ApplyPatchToUnstructured` (`AllowMissingPathOnRemove`) and Argo CD's ignore
normaliser.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

from reconciler.types import JsonObject, JsonValue

PathStep: TypeAlias = str | int
"""A dict key or a list index, as found in one document."""

_INDEX = re.compile(r"0|[1-9][0-9]*")
_BAD_ESCAPE = re.compile(r"~(?![01])")


class InvalidPointer(ValueError):
    """Text that is not a JSON pointer, or one naming the whole object."""


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """The unescaped tokens of `pointer`; `()` for "" (the whole document)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise InvalidPointer(f"JSON pointer {pointer!r}: must start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if _BAD_ESCAPE.search(token):
            raise InvalidPointer(f"JSON pointer {pointer!r}: '~' must be followed by 0 or 1")
    # ~1 first: "~01" is the token "~1", not "/".
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def format_pointer(path: Sequence[PathStep]) -> str:
    return "".join("/" + str(step).replace("~", "~0").replace("/", "~1") for step in path)


def remove_pointers(document: JsonObject, pointers: Iterable[str]) -> JsonObject:
    """A copy of `document` without the fields `pointers` name.

    Every pointer is resolved against the document as given (removing `/a/0` does not
    shift what `/a/1` names). A map or list left empty by a removal goes too while it
    sits in a map, so `{}` on one side never shows against nothing on the other.
    """
    targets: set[tuple[PathStep, ...]] = set()
    for pointer in pointers:
        tokens = parse_pointer(pointer)
        if not tokens:
            raise InvalidPointer("JSON pointer '': names the whole object, not a field in it")
        path = _locate(document, tokens)
        if path is not None:
            targets.add(path)
    if not targets:
        return document
    # A field inside one also removed goes with it; list elements go from the highest
    # index down, so each removal leaves the indexes of the others valid.
    outermost = {path for path in targets if not any(path[:n] in targets for n in range(len(path)))}
    result = copy.deepcopy(document)
    for path in sorted(outermost, reverse=True):
        _remove(result, path)
    return result


def _locate(document: JsonValue, tokens: tuple[str, ...]) -> tuple[PathStep, ...] | None:
    """The keys and indexes `tokens` name in `document`; None when it has no such field."""
    node = document
    path: list[PathStep] = []
    for token in tokens:
        if isinstance(node, dict) and token in node:
            path.append(token)
            node = node[token]
        elif isinstance(node, list) and _INDEX.fullmatch(token) and int(token) < len(node):
            path.append(int(token))
            node = node[int(token)]
        else:
            return None
    return tuple(path)


def _remove(document: JsonObject, path: tuple[PathStep, ...]) -> None:
    # Any: each step was found in the document by _locate, so it fits its container.
    nodes: list[Any] = [document]
    for step in path[:-1]:
        nodes.append(nodes[-1][step])
    depth = len(path) - 1
    del nodes[depth][path[depth]]
    while depth > 0 and not nodes[depth] and isinstance(nodes[depth - 1], dict):
        depth -= 1
        del nodes[depth][path[depth]]
