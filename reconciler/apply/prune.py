"""Prune: delete what left a release's render, and whole releases whose files left Git.

An object is deleted only when it is in the release's inventory AND the live object
carries the release's ownership labels (labels alone prove nothing; the inventory
alone could name an object someone else has since created). Objects annotated
`harmonia.dev/prune: "false"` stay; Namespaces and CRDs stay unless annotated
`harmonia.dev/prune: "true"` (deleting a CRD deletes every object of its kind).
A render with no objects for a release that had some prunes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.apply.inventory import InventoryRecord, inventory_stub
from reconciler.apply.staging import stage_of
from reconciler.diff.changeset import Action, ObjectChange
from reconciler.kube.client import KubeClient
from reconciler.objects import ObjectRef, stub_object
from reconciler.render.model import KubeObject
from reconciler.render.ownership import ownership_labels
from reconciler.types import ReleaseKey, split_release_key

PRUNE_ANNOTATION = "harmonia.dev/prune"
PROTECTED_KINDS = ("Namespace", "CustomResourceDefinition")


@dataclass(frozen=True)
class PruneResult:
    changes: tuple[ObjectChange, ...]
    withheld: str | None = None
    """Why nothing was pruned (a guard held), or None."""


def owned_by(live: KubeObject, release: ReleaseKey) -> bool:
    """True only when the live object carries this release's ownership labels."""
    labels: Any = (live.get("metadata") or {}).get("labels") or {}  # type: ignore[union-attr]
    return all(labels.get(key) == value for key, value in ownership_labels(release).items())


def keep_reason(live: KubeObject, release: ReleaseKey) -> str | None:
    """Why `live` must not be deleted for `release`, or None."""
    if not owned_by(live, release):
        return "does not carry this release's ownership labels; left alone"
    annotations: Any = (live.get("metadata") or {}).get("annotations") or {}  # type: ignore[union-attr]
    flag = annotations.get(PRUNE_ANNOTATION)
    if flag == "false":
        return f'annotated {PRUNE_ANNOTATION}: "false"'
    if live.get("kind") in PROTECTED_KINDS and flag != "true":
        return (
            f'{live.get("kind")} objects are pruned only when annotated {PRUNE_ANNOTATION}: "true"'
        )
    return None


def _delete_in_reverse_stages(
    client: KubeClient, refs: Sequence[ObjectRef], *, release: ReleaseKey
) -> list[ObjectChange]:
    found: list[tuple[ObjectRef, KubeObject | None]] = [
        (ref, client.get(stub_object(ref))) for ref in refs
    ]
    found.sort(key=lambda pair: -stage_of(stub_object(pair[0])))
    changes: list[ObjectChange] = []
    for ref, live in found:
        if live is None:
            changes.append(ObjectChange(ref, Action.SKIPPED, "already gone"))
            continue
        reason = keep_reason(live, release)
        if reason is not None:
            changes.append(ObjectChange(ref, Action.SKIPPED, reason))
            continue
        client.delete(stub_object(ref))
        changes.append(ObjectChange(ref, Action.DELETED, "no longer rendered"))
    return changes


def prune_stale(
    client: KubeClient, stale: Sequence[ObjectRef], *, release: ReleaseKey, rendered_nothing: bool
) -> PruneResult:
    if rendered_nothing:
        reason = (
            f"release {release} rendered no objects but had {len(stale)}; prune withheld "
            "(an empty render is more likely a broken chart than a wish to delete everything)"
        )
        changes = tuple(ObjectChange(ref, Action.SKIPPED, reason) for ref in stale)
        return PruneResult(changes, withheld=reason)
    return PruneResult(tuple(_delete_in_reverse_stages(client, stale, release=release)))


def _claims_of(statefulset: KubeObject, claims: Sequence[KubeObject]) -> list[KubeObject]:
    """The claims a StatefulSet's templates made: `<template>-<statefulset>-<ordinal>`."""
    name = str((statefulset.get("metadata") or {}).get("name"))  # type: ignore[union-attr]
    templates: Any = (statefulset.get("spec") or {}).get("volumeClaimTemplates") or []  # type: ignore[union-attr]
    patterns = [
        re.compile(
            rf"{re.escape(str((t.get('metadata') or {}).get('name')))}-{re.escape(name)}-\d+"
        )
        for t in templates
    ]
    return [
        claim
        for claim in claims
        if any(p.fullmatch(str((claim.get("metadata") or {}).get("name"))) for p in patterns)  # type: ignore[union-attr]
    ]


def remove_release(client: KubeClient, record: InventoryRecord) -> PruneResult:
    """Delete a release whose file left Git: its owned objects, its StatefulSets' claims
    when it set `deletePvcs`, then its inventory record."""
    namespace, _name = split_release_key(record.release)
    claims: list[ObjectRef] = []
    if record.delete_pvcs:
        live_claims = client.list("v1", "PersistentVolumeClaim", namespace=namespace)
        for entry in record.entries:
            if entry.ref.kind != "StatefulSet":
                continue
            statefulset = client.get(stub_object(entry.ref))
            if statefulset is not None and owned_by(statefulset, record.release):
                claims += [
                    ObjectRef("v1", "PersistentVolumeClaim", namespace, str(c["metadata"]["name"]))  # type: ignore[index, call-overload]
                    for c in _claims_of(statefulset, live_claims)
                ]
    changes = _delete_in_reverse_stages(
        client, [entry.ref for entry in record.entries], release=record.release
    )
    for claim in claims:
        client.delete(stub_object(claim))
        changes.append(ObjectChange(claim, Action.DELETED, "deletePvcs: the release was removed"))
    client.delete(inventory_stub(record.release))
    return PruneResult(tuple(changes))
