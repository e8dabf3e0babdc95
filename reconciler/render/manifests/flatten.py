"""Rendered documents made into the objects a pass can name: Lists expanded, names checked.

The first step of `release.py`'s finish, for every engine's output (plain YAML,
Kustomize, Helm, Jsonnet): a `kind: List` (or `RoleList`, `RoleBindingList`, any kind
ending in `List` with an `items` array) stands for its items, as kubectl reads it; then
every object must carry what names it (apiVersion, kind, metadata.name), or the release
fails to render with the object named, before anything of it reaches the cluster. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from reconciler.objects import MalformedObject, ref_of
from reconciler.render.model import KubeObject, RenderError
from reconciler.types import JsonValue

LIST_SUFFIX = "List"


def flatten_objects(objects: Iterable[KubeObject], *, subject: str) -> tuple[KubeObject, ...]:
    """`objects` with each List replaced by its items (nested Lists too), in order; a
    RenderError naming the first object that cannot be named."""
    flattened = tuple(_expanded(objects, subject=subject))
    for obj in flattened:
        try:
            ref_of(obj)
        except MalformedObject as error:
            raise RenderError(f"{subject}: {error}") from None
    return flattened


def is_list(obj: KubeObject) -> bool:
    """A list of objects as kubectl reads one: a kind ending in `List` with `items`."""
    kind = obj.get("kind")
    return isinstance(kind, str) and kind.endswith(LIST_SUFFIX) and "items" in obj


def _expanded(objects: Iterable[KubeObject], *, subject: str) -> Iterator[KubeObject]:
    for obj in objects:
        if not is_list(obj):
            yield obj
            continue
        where = f"{subject}: {obj['kind']} ({obj.get('apiVersion')})"
        items = obj["items"]
        if not isinstance(items, list):
            raise RenderError(f"{where}: items is not a list")
        typed = [_typed(item, obj) for item in items]
        for index, item in enumerate(typed):
            if not isinstance(item, dict):
                raise RenderError(f"{where}: item {index} is not an object")
        yield from _expanded((item for item in typed if isinstance(item, dict)), subject=subject)


def _typed(item: JsonValue, listed: KubeObject) -> JsonValue:
    """An item of a typed list (`RoleList`) without apiVersion and kind takes the list's
    (as the API server's clients read one); other items stay as written."""
    kind = str(listed["kind"])[: -len(LIST_SUFFIX)]
    if not isinstance(item, dict) or "apiVersion" in item or "kind" in item or not kind:
        return item
    return {"apiVersion": listed.get("apiVersion"), "kind": kind, **item}
