"""Plain data types shared by every stage of the reconcile pipeline.

The bottom layer: no I/O and no imports from the rest of Harmonia.
"""

from __future__ import annotations

from typing import NewType, TypeAlias

ReleaseKey = NewType("ReleaseKey", str)
"""A release's identity, ``namespace/name`` (the Contracts' release identity)."""

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
"""A value as JSON (and YAML read the way Harmonia reads it) can hold it."""

JsonObject: TypeAlias = "dict[str, JsonValue]"


def release_key(namespace: str, name: str) -> ReleaseKey:
    return ReleaseKey(f"{namespace}/{name}")


def split_release_key(key: ReleaseKey) -> tuple[str, str]:
    """The (namespace, name) of a key."""
    namespace, _, name = key.partition("/")
    return namespace, name
