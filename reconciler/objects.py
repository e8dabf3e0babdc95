"""How Harmonia names one Kubernetes object: `ObjectRef` and reading it off an object body.

The bottom layer beside `reconciler.types`: the kube client, the diff, apply, prune and
the inventory record all name objects this way. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.types import JsonObject, JsonValue

Identity = tuple[str, str, str, str]
"""(group, kind, namespace, name): one object whatever API version it is read at."""


class MalformedObject(ValueError):
    """An object body without the apiVersion, kind or metadata.name that names it."""


@dataclass(frozen=True)
class ObjectRef:
    """One object's identity: API version, kind, namespace ("" when cluster-scoped), name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def group(self) -> str:
        """The API group, "" for the core group (`v1`)."""
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def identity(self) -> Identity:
        """(group, kind, namespace, name): equal for one object read at any API version."""
        return (self.group, self.kind, self.namespace, self.name)

    def to_json(self) -> JsonObject:
        body: JsonObject = {"apiVersion": self.api_version, "kind": self.kind}
        if self.namespace:
            body["namespace"] = self.namespace
        body["name"] = self.name
        return body

    def __str__(self) -> str:
        """`Kind/namespace/name`, or `Kind/name` when cluster-scoped (Flux's subject form)."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


def ref_of(obj: JsonObject) -> ObjectRef:
    """The reference naming `obj`; `MalformedObject` when a naming field is missing."""
    api_version = _text(obj.get("apiVersion"))
    kind = _text(obj.get("kind"))
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = _text(metadata.get("name"))
    namespace = metadata.get("namespace") or ""
    if not api_version or not kind:
        # Named in the message only when it is wrong: every object of a pass is read here.
        subject = " ".join(part for part in (kind or "object", name) if part)
        if not api_version:
            raise MalformedObject(f"{subject}: no apiVersion")
        raise MalformedObject(f"{subject} ({api_version}): no kind")
    if not name:
        raise MalformedObject(f"{kind} ({api_version}): no metadata.name")
    if not isinstance(namespace, str):
        raise MalformedObject(f"{kind}/{name}: metadata.namespace is not a string")
    return ObjectRef(api_version=api_version, kind=kind, namespace=namespace, name=name)


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else ""


def stub_object(ref: ObjectRef) -> JsonObject:
    """A minimal body naming `ref`: enough for a get or a delete."""
    metadata: JsonObject = {"name": ref.name}
    if ref.namespace:
        metadata["namespace"] = ref.namespace
    return {"apiVersion": ref.api_version, "kind": ref.kind, "metadata": metadata}
