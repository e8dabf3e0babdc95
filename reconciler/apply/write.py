"""Write one release's plan: what differs, stage by stage, as server-side applies.

CRDs and Namespaces go first and a CRD is waited for until Established; an object
that existed before the release recorded it has its field owners handed over after
the write, so a field later dropped from the chart leaves the cluster. The first
refusal stops the writes: what was written is reported, the rest is not touched.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.live_index import LiveIndex
from reconciler.apply.managed_fields import transferred_managed_fields
from reconciler.apply.plan import PlannedObject, ReleasePlan
from reconciler.apply.staging import staged
from reconciler.diff.changeset import Action, ObjectChange
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import ClusterUnreachable, Invalid, KubeError, StaleObject
from reconciler.objects import Identity, ObjectRef, ref_of, stub_object
from reconciler.release_requests import Release
from reconciler.render.model import KubeObject
from reconciler.render.ownership import MANAGED_BY, MANAGED_BY_LABEL

CRD_ESTABLISH_TIMEOUT = 60.0
HANDOVER_ATTEMPTS = 3
"""Tries at rewriting an adopted object's field owners while controllers write to it."""
_WRITTEN = (Action.CREATED, Action.CONFIGURED)


@dataclass(frozen=True)
class WriteResult:
    changes: tuple[ObjectChange, ...]
    """What was done to each object reached, in the order of the writes."""
    resource_versions: Mapping[Identity, str]
    """The resourceVersion each written object got: what the record keeps of it."""
    drift: tuple[str, ...] = ()
    """Objects changed by hand since Harmonia's last apply, put back (their references)."""
    error: str | None = None
    """Why the writes stopped (the API server refused an object); the rest are unwritten."""


def write_plan(
    client: KubeClient,
    plan: ReleasePlan,
    release: Release,
    *,
    previous: InventoryRecord | None,
    live: LiveIndex,
) -> WriteResult:
    """Write what `plan` says differs, stage by stage. A cluster that stops answering
    stops the pass (`ClusterUnreachable`); the record made before the writes names
    every object that may now exist."""
    resource_versions: dict[Identity, str] = {}
    changes: list[ObjectChange] = []
    drift: list[str] = []
    by_identity = {ref_of(p.desired).identity: p for p in plan.objects}
    for stage in staged([p.desired for p in plan.objects]):
        for obj in stage:
            planned = by_identity[ref_of(obj).identity]
            change = planned.change
            try:
                stored = _store(client, planned, release)
            except ClusterUnreachable:
                raise
            except KubeError as error:
                return WriteResult(tuple(changes), resource_versions, tuple(drift), str(error))
            if stored is not None:
                live.update(stored)
                resource_versions[change.ref.identity] = str(stored["metadata"]["resourceVersion"])  # type: ignore[index, call-overload]
            recorded = previous.entry(change.ref) if previous is not None else None
            if (
                change.action is Action.CONFIGURED
                and recorded is not None
                and recorded.digest == planned.digest
            ):
                drift.append(str(change.ref))
            changes.append(change)
            if obj.get("kind") == "CustomResourceDefinition":
                # Written, so in the changes; what depends on it waits until it is served.
                try:
                    _wait_established(client, obj)
                except ClusterUnreachable:
                    raise
                except KubeError as error:
                    return WriteResult(tuple(changes), resource_versions, tuple(drift), str(error))
    return WriteResult(tuple(changes), resource_versions, tuple(drift))


def ensure_namespace(client: KubeClient, namespace: str, live: LiveIndex) -> None:
    """Create the release namespace when missing, labelled as Harmonia's (never pruned).

    Asked once per namespace and pass: `live` remembers the answer for the other releases.
    """
    ref = ObjectRef("v1", "Namespace", "", namespace)
    if live.get(ref) is not None:
        return
    stub = stub_object(ref)
    live.update(
        client.apply(
            {**stub, "metadata": {"name": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}}
        )
    )


def _wait_established(client: KubeClient, crd: KubeObject) -> None:
    deadline = time.monotonic() + CRD_ESTABLISH_TIMEOUT
    while time.monotonic() < deadline:
        live = client.get(crd) or {}
        conditions: Any = (live.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            client.invalidate_discovery()
            return
        time.sleep(0.5)
    raise KubeError(str(ref_of(crd)), f"not Established after {CRD_ESTABLISH_TIMEOUT:.0f}s")


def _write(client: KubeClient, planned: PlannedObject, release: Release) -> KubeObject:
    obj = planned.desired
    force = release.force or planned.take_over
    try:
        return client.apply(obj, force=force)
    except Invalid as error:
        if not error.immutable:
            raise
        if not release.force:
            raise KubeError(
                error.subject,
                f"{error.message}; set `force: true` to delete and recreate it",
            ) from None
        client.delete(obj, propagation="Foreground")
        _wait_gone(client, obj)
        return client.apply(obj, force=True)


def _store(client: KubeClient, planned: PlannedObject, release: Release) -> KubeObject | None:
    """Write the object when it differs, then hand its fields over when that is owed;
    what the cluster now holds, or None when nothing was written."""
    stored = _write(client, planned, release) if planned.change.action in _WRITTEN else None
    if not planned.hand_over:
        return stored
    # Read again when not written: the pass's index keeps no managedFields.
    current = stored or client.get(stub_object(planned.change.ref))
    if current is None:
        return stored
    handed = _hand_over_fields(client, current)
    return handed if handed is not current else stored


def _hand_over_fields(client: KubeClient, stored: KubeObject) -> KubeObject:
    """After adopting: drop the previous managers' claims on the fields Harmonia applied
    (managed_fields.py), so that a field later removed from the chart leaves the cluster.
    `stored` itself when there are none.

    Only `metadata.managedFields` changes: no new generation, no restart. The write is
    conditional on the resourceVersion; a controller writing meanwhile means reading again.
    """
    current: KubeObject | None = stored
    for _attempt in range(HANDOVER_ATTEMPTS):
        if current is None:
            break
        entries = transferred_managed_fields(current, manager=client.field_manager)
        if entries is None:
            return current
        metadata: Any = current["metadata"]
        try:
            patch = {"managedFields": entries, "resourceVersion": metadata["resourceVersion"]}
            return client.merge_patch(current, {"metadata": patch})
        except StaleObject:
            current = client.get(current)
    raise KubeError(
        str(ref_of(stored)), "adopted, but its field owners kept changing; the next pass retries"
    )


def _wait_gone(client: KubeClient, obj: KubeObject, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get(obj) is not None:
        if time.monotonic() > deadline:
            raise KubeError(str(ref_of(obj)), f"still present {timeout:.0f}s after deletion")
        time.sleep(0.5)
