"""The inventory record of a release: what Harmonia applied for it, kept in the cluster.

One ConfigMap per release in the release namespace (like Helm's release storage).
The apply step writes it; prune, status, external dependencies and the API read it.
It holds the object references applied (with a digest of what was applied and the
resourceVersion that produced, so an unchanged object needs no dry-run), the Git
revision at which the release last changed, the input hash, the outputs, the
dependencies' outputs used, the last result with its time, and the source (repository
and path) that owns the release.
Converting to and from the ConfigMap is pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from reconciler.objects import ObjectRef
from reconciler.outcome import Outcome
from reconciler.render.model import KubeObject, OutputValue
from reconciler.render.ownership import INVENTORY_NAME_PREFIX, OWNER_ANNOTATION, ownership_labels
from reconciler.types import JsonObject, ReleaseKey, release_key, split_release_key

INVENTORY_LABEL = "harmonia.dev/inventory"
INVENTORY_SELECTOR = f"{INVENTORY_LABEL}=true"
"""The label selector that lists every inventory ConfigMap."""
INVENTORY_KEY = "inventory.json"
HAND_OVER_ANNOTATION = "harmonia.dev/hand-over-to"
"""Set on a record by a person (RBAC decides who): the source named may take the release."""
APPLYING = "Applying"
"""A record's result while the writes are under way: no pass ends so, hence no outcome."""


def last_result(outcome: Outcome, why: str = "") -> str:
    """A record's result in the outcome's word, then why: `Applied`, `Failed: <why>` (the
    words every version of the record has used, so older records read the same)."""
    return f"{outcome}: {why}" if why else str(outcome)


def inventory_name(release: ReleaseKey) -> str:
    return INVENTORY_NAME_PREFIX + split_release_key(release)[1]


def inventory_stub(release: ReleaseKey) -> KubeObject:
    """The release's inventory ConfigMap as far as naming it goes (to get, patch, delete)."""
    namespace, _name = split_release_key(release)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": inventory_name(release), "namespace": namespace},
    }


def inventory_release(configmap: KubeObject) -> ReleaseKey | None:
    """The release an inventory ConfigMap is named for; None for another name."""
    metadata: Any = configmap.get("metadata") or {}
    name = str(metadata.get("name") or "")
    if not name.startswith(INVENTORY_NAME_PREFIX):
        return None
    return release_key(
        str(metadata.get("namespace") or ""), name.removeprefix(INVENTORY_NAME_PREFIX)
    )


@dataclass(frozen=True)
class InventoryEntry:
    """One object applied for the release."""

    ref: ObjectRef
    digest: str = ""
    """sha256 of the object as Harmonia applied it."""
    resource_version: str = ""
    """The live resourceVersion right after that apply."""
    completed: bool = False
    """A Job seen complete at this digest: once its ttlSecondsAfterFinished removes it, it
    is done, not missing (not created again until its spec changes)."""

    def to_json(self) -> JsonObject:
        body: JsonObject = {
            **self.ref.to_json(),
            "digest": self.digest,
            "resourceVersion": self.resource_version,
        }
        if self.completed:
            body["completed"] = True
        return body

    @classmethod
    def from_json(cls, raw: Any) -> InventoryEntry:
        ref = ObjectRef(
            api_version=raw["apiVersion"],
            kind=raw["kind"],
            namespace=raw.get("namespace", ""),
            name=raw["name"],
        )
        return cls(
            ref=ref,
            digest=raw.get("digest", ""),
            resource_version=raw.get("resourceVersion", ""),
            completed=raw.get("completed", False) is True,
        )


@dataclass(frozen=True)
class InventoryRecord:
    release: ReleaseKey
    source: str
    """The source (repository and path) that owns the release: only it applies the release
    and removes it when its file leaves Git ("" in a record of an older version)."""
    revision: str
    """The Git revision at which the release last changed (installed, what it applies
    changed, or the record had to change otherwise): a commit that leaves the release as
    it was leaves its record, so a pass rewrites only the records of releases it changed.
    The pass's own revision is the pass report's."""
    input_hash: str
    entries: tuple[InventoryEntry, ...]
    outputs: Mapping[str, OutputValue] = field(default_factory=dict)
    dependency_outputs: Mapping[str, JsonObject] = field(default_factory=dict)
    """Alias -> {"release": key, "outputs": {...}} as used by the last render."""
    result: str = ""
    """What the last apply came to (`last_result`): "Applied", or "Failed: <why>" when the
    apply, a hook or the wait for Ready failed (APPLYING while the writes are under way)."""
    time: str = ""
    """ISO 8601 UTC time of the last result."""
    prune: bool = True
    delete_pvcs: bool = False
    """The release's settings at its last apply, used when its file has left Git."""
    paused: bool = False
    timeout_sec: int = 300
    ready_since: str = ""
    """When the release was first seen Ready after its last change ("" if not yet): a
    release not Ready after that is Degraded rather than still Progressing."""
    removal_withheld: str = ""
    """Why the removal of this release, whose file left Git, was withheld ("" if it was
    not): it stays withheld on every later pass until `confirmRemoval` in harmonia.yaml
    names the release. An apply of the release (its file is back) writes a record without it."""
    applied_by: str = ""
    """The shard replica (its Lease identity) that last applied the release, under
    `harmonia run --shards`; "" otherwise, and then not written."""
    handed_over_to: str = field(default="", compare=False)
    """The record's HAND_OVER_ANNOTATION as found: a person's, never written by Harmonia
    (so its applies leave the annotation to the person who set it)."""

    def entry(self, ref: ObjectRef) -> InventoryEntry | None:
        identity = ref.identity
        return next((e for e in self.entries if e.ref.identity == identity), None)

    def to_configmap(self) -> KubeObject:
        namespace, _name = split_release_key(self.release)
        labels: JsonObject = dict(ownership_labels(self.release))
        labels[INVENTORY_LABEL] = "true"
        payload = asdict(self)
        del payload["handed_over_to"]
        if not self.applied_by:
            del payload["applied_by"]
        payload["entries"] = [entry.to_json() for entry in self.entries]
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": inventory_name(self.release),
                "namespace": namespace,
                "labels": labels,
                "annotations": {OWNER_ANNOTATION: str(self.release)},
            },
            "data": {INVENTORY_KEY: json.dumps(payload, sort_keys=True, indent=1)},
        }


class InventoryFormatError(Exception):
    """An inventory ConfigMap Harmonia cannot read (edited by hand, or from a newer version)."""


def record_from_configmap(configmap: KubeObject) -> InventoryRecord:
    """The record a ConfigMap holds, when it is the record of the release it is named for.

    A record carries the owner annotation of its own release, which a release's objects
    cannot (rendering sets theirs to the release that renders them): a look-alike made
    by another release is refused, so it cannot feed outputs, a source or a hand-over.
    """
    metadata: Any = configmap.get("metadata") or {}
    subject = f"ConfigMap/{metadata.get('namespace')}/{metadata.get('name')}"
    annotations: Any = metadata.get("annotations") or {}
    named_for = inventory_release(configmap)
    owner = annotations.get(OWNER_ANNOTATION)
    if named_for is None or owner != named_for:
        raise InventoryFormatError(
            f"{subject}: not the inventory record of {named_for} (it belongs to release "
            f"{owner or 'none'}); delete or rename it"
        )
    data: Any = configmap.get("data") or {}
    try:
        raw = json.loads(data[INVENTORY_KEY])
        entries = tuple(InventoryEntry.from_json(entry) for entry in raw.pop("entries"))
        raw.setdefault("source", "")
        return InventoryRecord(
            entries=entries, handed_over_to=str(annotations.get(HAND_OVER_ANNOTATION, "")), **raw
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InventoryFormatError(
            f"{subject}: not a readable inventory record ({error})"
        ) from None
