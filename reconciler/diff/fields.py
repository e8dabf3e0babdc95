"""Which fields differ between two normalised objects, as JSON pointers.

Decides `configured` versus `unchanged` and names the drift in reasons and logs; the
text diff shows the same fields. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.diff.pointer import PathStep, format_pointer
from reconciler.types import JsonValue


def changed_paths(before: JsonValue, after: JsonValue) -> tuple[str, ...]:
    """Pointers to every field that differs, in `after`'s order, then fields only `before` has.

    A field added or removed is named itself, not its contents; list elements are
    compared by position. Values are equal only with the same JSON type: `1` is not
    `true`, nor `1.0`, nor `"1"`.
    """
    return tuple(format_pointer(path) for path in _differences(before, after, ()))


def same_json(before: JsonValue, after: JsonValue) -> bool:
    return next(_differences(before, after, ()), None) is None


def _differences(
    before: JsonValue, after: JsonValue, path: tuple[PathStep, ...]
) -> Iterator[tuple[PathStep, ...]]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*after, *(key for key in before if key not in after)]:
            if key in before and key in after:
                yield from _differences(before[key], after[key], (*path, key))
            else:
                yield (*path, key)
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            if index < len(before) and index < len(after):
                yield from _differences(before[index], after[index], (*path, index))
            else:
                yield (*path, index)
    elif type(before) is not type(after) or before != after:
        yield path
