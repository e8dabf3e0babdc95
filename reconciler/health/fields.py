"""Typed reads of a live object's fields, failing with the object and the field named.

Every health rule reads through `Fields`: the API server's JSON is trusted for its shape,
but a field of the wrong type must give a clear error naming it, never a crash deep inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.health.model import HealthError, LiveObject, PodState, ResourceState, State
from reconciler.types import JsonValue


@dataclass(frozen=True)
class Fields:
    """An object (or a part of one, like a container status) and how errors name it."""

    node: Mapping[str, JsonValue]
    subject: str

    def _lookup(self, path: str) -> JsonValue:
        value: JsonValue = dict(self.node)
        keys = path.split(".")
        for depth, key in enumerate(keys):
            if value is None:
                return None
            if not isinstance(value, dict):
                raise self._wrong(".".join(keys[:depth]), "an object", value)
            value = value.get(key)
        return value

    def _wrong(self, path: str, expected: str, value: JsonValue) -> HealthError:
        return HealthError(f"{self.subject}: {path}: expected {expected}, got {value!r}")

    def integer(self, path: str, default: int = 0) -> int:
        value = self._lookup(path)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(path, "an integer", value)
        return value

    def optional_integer(self, path: str) -> int | None:
        return None if self._lookup(path) is None else self.integer(path)

    def text(self, path: str, default: str = "") -> str:
        value = self._lookup(path)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._wrong(path, "a string", value)
        return value

    def flag(self, path: str) -> bool:
        value = self._lookup(path)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._wrong(path, "true or false", value)
        return value

    def present(self, path: str) -> bool:
        return self._lookup(path) is not None

    def mapping(self, path: str) -> Mapping[str, JsonValue]:
        value = self._lookup(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._wrong(path, "an object", value)
        return value

    def strings(self, path: str) -> Mapping[str, str]:
        """A map of strings, like labels and annotations."""
        mapping = self.mapping(path)
        for key, value in mapping.items():
            if not isinstance(value, str):
                raise self._wrong(f"{path}.{key}", "a string", value)
        return {key: str(value) for key, value in mapping.items()}

    def items(self, path: str) -> tuple[Fields, ...]:
        """A list of objects (conditions, container statuses, owner references)."""
        value = self._lookup(path)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._wrong(path, "a list", value)
        parts = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._wrong(f"{path}[{index}]", "an object", item)
            parts.append(Fields(item, f"{self.subject}: {path}[{index}]"))
        return tuple(parts)

    def string_list(self, path: str) -> tuple[str, ...]:
        value = self._lookup(path)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._wrong(path, "a list of strings", value)
        return tuple(str(item) for item in value)

    def count(self, path: str) -> int:
        """How many entries a list holds (e.g. a LoadBalancer's ingress addresses)."""
        value = self._lookup(path)
        if value is None:
            return 0
        if not isinstance(value, list):
            raise self._wrong(path, "a list", value)
        return len(value)

    def condition(self, kind: str) -> Fields | None:
        """The `status.conditions` entry of this type, if the controller set one."""
        for condition in self.items("status.conditions"):
            if condition.text("type") == kind:
                return condition
        return None


def fields(obj: LiveObject, *, listed_as: str = "") -> Fields:
    """The object's fields, named in errors as `Deployment shop/web`.

    `listed_as`: the kind of a list's items, which the API server sends without a kind.
    """
    return Fields(obj, subject(obj, listed_as=listed_as))


def identity(obj: LiveObject, *, listed_as: str = "") -> tuple[str, str, str]:
    """(kind, namespace, name); an object without a kind or a name is not a live object."""
    kind = obj.get("kind") or listed_as
    namespace, name = _metadata(obj, "namespace"), _metadata(obj, "name")
    if not isinstance(kind, str) or not kind:
        raise HealthError(f"live object {name or '?'}: has no kind")
    if not isinstance(name, str) or not name:
        raise HealthError(f"{kind}: has no metadata.name")
    return kind, namespace if isinstance(namespace, str) else "", name


def subject(obj: LiveObject, *, listed_as: str = "") -> str:
    kind, namespace, name = identity(obj, listed_as=listed_as)
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def api_group(obj: LiveObject) -> str:
    """`apps` for `apps/v1`, empty for the core group's `v1`."""
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str):
        return ""
    group, _, _ = api_version.rpartition("/")
    return group


def _metadata(obj: LiveObject, key: str) -> JsonValue:
    metadata = obj.get("metadata")
    return metadata.get(key) if isinstance(metadata, dict) else None


def unobserved_generation(view: Fields, *, required: bool) -> str | None:
    """Why the status does not yet describe the spec, or None when it does.

    `required`: the kind's controller always writes `status.observedGeneration` (built-in
    workloads), so its absence means the controller has not seen the object yet. For other
    kinds a missing field just means the check cannot be made (kstatus does the same).
    """
    generation = view.optional_integer("metadata.generation")
    observed = view.optional_integer("status.observedGeneration")
    if generation is None:
        return None
    if observed is None:
        return "the controller has not observed it yet" if required else None
    if observed < generation:
        return f"generation {generation} not observed yet (observed {observed})"
    return None


def resource_state(
    obj: LiveObject,
    state: State,
    reason: str = "",
    message: str = "",
    pods: tuple[PodState, ...] | None = None,
) -> ResourceState:
    """The object's state, named by its kind, namespace and name."""
    kind, namespace, name = identity(obj)
    return ResourceState(kind, namespace, name, state, str(reason), message, pods)
