"""Field ownership handed over on adoption: what Harmonia applies, Harmonia alone owns.

Used by the apply step right after it adopts an object another manager created (Helm,
WALM, kubectl). Server-side apply leaves a field that both applied with the same value
owned by both, so a field later removed from the chart would stay in the cluster under
the previous owner. Taking those fields out of the other managers' entries (the objects
themselves unchanged, no restart) makes later removals work. Pure: FieldsV1 sets as JSON.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from reconciler.render.model import KubeObject
from reconciler.types import JsonObject

FieldPath = tuple[str, ...]
_SELF = "."
"""A FieldsV1 key marking the node itself as owned, beside owned children."""


def _owned_paths(node: Any, prefix: FieldPath = ()) -> set[FieldPath]:
    """The owned fields of a FieldsV1 trie: leaves (`{}`) and nodes marked with `.`."""
    if not isinstance(node, dict):
        return set()
    owned = {prefix} if prefix and (not node or _SELF in node) else set()
    for key, child in node.items():
        if key != _SELF:
            owned |= _owned_paths(child, (*prefix, key))
    return owned


def _trie(paths: Iterable[FieldPath]) -> JsonObject:
    """The FieldsV1 trie of `paths`: a path with owned children is marked with `.`."""
    members = set(paths)
    root: JsonObject = {}
    for path in sorted(members):
        node: Any = root
        for key in path:
            node = node.setdefault(key, {})
    for path in members:
        node = root
        for key in path:
            node = node[key]
        if node:
            node[_SELF] = {}
    return root


def transferred_managed_fields(live: KubeObject, *, manager: str) -> list[JsonObject] | None:
    """`live`'s managedFields with the fields `manager` applies taken out of every other
    manager's entry (an entry left with nothing is dropped), or None when no other
    entry shares a field with it. Entries of subresources (status, scale) are kept:
    controllers write those."""
    metadata: Any = live.get("metadata") or {}
    entries: list[Any] = metadata.get("managedFields") or []
    applied = next(
        (
            _owned_paths(entry.get("fieldsV1"))
            for entry in entries
            if entry.get("manager") == manager
            and entry.get("operation") == "Apply"
            and not entry.get("subresource")
        ),
        set(),
    )
    transferred: list[JsonObject] = []
    changed = False
    for entry in entries:
        owned = _owned_paths(entry.get("fieldsV1"))
        if entry.get("manager") == manager or entry.get("subresource") or not owned & applied:
            transferred.append(entry)
            continue
        changed = True
        if owned - applied:
            transferred.append({**copy.deepcopy(entry), "fieldsV1": _trie(owned - applied)})
    return transferred if changed else None
