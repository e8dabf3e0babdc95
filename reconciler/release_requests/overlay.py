"""The overlay rule: an environment's overlay file merged over a release document.

Loading applies it between checking the base release file and building the release, so
every later stage sees one release per environment. Pure, no I/O: the rule is
`merge_overlay` (docs/environments.md), and `OverlaidSourceMap` says which of the two
files wrote each value of the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.release_requests.diagnostics import (
    Diagnostic,
    JsonPath,
    NodeInfo,
    Position,
    Severity,
    SourceMap,
)
from reconciler.types import JsonObject, JsonValue

FIXED_BY_PATH = ("name", "namespace")
"""Fields an overlay may not set: its path (`environments/<env>/<ns>/<name>.yaml`) names
the release."""
OVERLAY_ONLY = ("apiVersion", "kind", "absent")
"""Fields of the overlay itself, never merged into the release."""


class OverlayRefused(ValueError):
    """An overlay sets a field the rule does not let it change; `path` is that field's."""

    def __init__(self, path: JsonPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def merge_overlay(base: JsonObject, overlay: JsonObject) -> JsonObject | None:
    """The release document `overlay` makes of `base`, or None when the overlay says
    `absent: true` (the release is not in that environment).

    As Helm merges values: mappings are merged key by key, at every depth; a `null`
    deletes the key; lists and scalars replace what was there. Neither input changes.
    Raises `OverlayRefused` for `name` or `namespace`."""
    refuse_fixed_fields(overlay)
    if overlay.get("absent") is True:
        return None
    changes = {key: value for key, value in overlay.items() if key not in OVERLAY_ONLY}
    return _merged(base, changes)


def refuse_fixed_fields(overlay: JsonObject) -> None:
    """Raises `OverlayRefused` when the overlay sets `name` or `namespace`."""
    for key in FIXED_BY_PATH:
        if key in overlay:
            raise OverlayRefused(
                (key,), f"an overlay may not set '{key}': its path names the release"
            )


def _merged(base: Mapping[str, JsonValue], changes: Mapping[str, JsonValue]) -> JsonObject:
    result: JsonObject = dict(base)
    for key, change in changes.items():
        current = result.get(key)
        if change is None:
            result.pop(key, None)
        elif isinstance(change, dict) and isinstance(current, dict):
            result[key] = _merged(current, change)
        else:
            result[key] = change
    return result


def deleted_paths(overlay: JsonObject) -> tuple[JsonPath, ...]:
    """The paths an overlay deletes (its `null`s), in document order."""
    found: list[JsonPath] = []

    def visit(mapping: Mapping[str, JsonValue], path: JsonPath) -> None:
        for key, value in mapping.items():
            if value is None:
                found.append((*path, key))
            elif isinstance(value, dict):
                visit(value, (*path, key))

    visit({k: v for k, v in overlay.items() if k not in OVERLAY_ONLY}, ())
    return tuple(found)


@dataclass(frozen=True)
class OverlaidSourceMap(SourceMap):
    """Positions in a merged document over two files: `file` and `nodes` are the base
    release file's (the release's file, as everywhere), `overlay` the overlay's. A value
    the overlay wrote is at the overlay's file:line, any other at the base file's; a
    problem with a field the overlay deleted (a required one gone) points at its `null`."""

    overlay: SourceMap
    deleted: tuple[JsonPath, ...] = ()

    def side(self, path: JsonPath) -> SourceMap:
        """The file whose value is at `path`: the one knowing the longer part of it, the
        overlay when both know all of it (it replaced the base's), or when it deleted a
        field at or under `path`."""
        base = SourceMap(self.file, self.nodes)
        if any(gone[: len(path)] == path for gone in self.deleted):
            return self.overlay
        return self.overlay if _known(self.overlay, path) >= _known(base, path) else base

    def node(self, path: JsonPath) -> NodeInfo:
        gone = next((item for item in self.deleted if item[: len(path)] == path), None)
        if gone is not None:
            return self.overlay.node(gone)
        return self.side(path).node(path)

    def diagnostic(
        self,
        path: JsonPath,
        message: str,
        hint: str,
        *,
        at_key: bool = False,
        at: Position | None = None,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        side = self.side(path)
        where = at or self.position(path, at_key=at_key)
        return side.diagnostic(path, message, hint, at=where, severity=severity)


def _known(source: SourceMap, path: JsonPath) -> int:
    """How much of `path` (from the root) `source` has a node for."""
    return max((n for n in range(len(path), 0, -1) if path[:n] in source.nodes), default=0)
