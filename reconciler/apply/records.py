"""The inventory records in the cluster: read, composed after an apply, written.

`inventory.py` is the record's format; this module is where records meet the cluster
and where one apply's record is made: first the objects about to be created (so a pass
cut short leaves no object that no record names), then, once the release's readiness
is known, the final record in one write, or none when the cluster's already says it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.apply.inventory import (
    APPLYING,
    INVENTORY_SELECTOR,
    InventoryEntry,
    InventoryFormatError,
    InventoryRecord,
    inventory_release,
    inventory_stub,
    last_result,
    record_from_configmap,
)
from reconciler.apply.live_index import LiveIndex
from reconciler.apply.plan import PlannedObject, ReleasePlan
from reconciler.apply.prune import PruneResult
from reconciler.apply.wait import with_completed_jobs
from reconciler.apply.write import WriteResult
from reconciler.diff.changeset import Action
from reconciler.health import ReleaseHealth
from reconciler.kube.client import KubeClient
from reconciler.kube.watch import Watches, WatchScope
from reconciler.objects import Identity
from reconciler.outcome import Outcome
from reconciler.release_requests import Release
from reconciler.render.model import RenderedRelease
from reconciler.render.secrets.redaction import public_outputs
from reconciler.types import JsonObject, ReleaseKey

RecordRead = InventoryRecord | InventoryFormatError
"""A release's inventory record as found, or why it cannot be read."""


def write_inventory(client: KubeClient, record: InventoryRecord) -> None:
    client.apply(record.to_configmap(), force=True)


def read_inventory(client: KubeClient, release: ReleaseKey) -> InventoryRecord | None:
    configmap = client.get(inventory_stub(release))
    return record_from_configmap(configmap) if configmap is not None else None


INVENTORY_SCOPE = WatchScope("v1", "ConfigMap", "", INVENTORY_SELECTOR)
"""Every inventory record in the cluster: what a long-running reconciler watches."""


def inventory_records(
    client: KubeClient, *, watched: Watches | None = None
) -> dict[ReleaseKey, RecordRead]:
    """Every inventory record in the cluster by its release, in one list request (none
    when `watched` keeps them current) and read once: a pass takes each release's record
    from here, not with a GET apiece."""
    found = watched.objects(INVENTORY_SCOPE) if watched is not None else None
    if found is None:
        found = client.list("v1", "ConfigMap", label_selector=INVENTORY_SELECTOR)
    records: dict[ReleaseKey, RecordRead] = {}
    for configmap in found:
        key = inventory_release(configmap)
        if key is None:
            continue
        try:
            records[key] = record_from_configmap(configmap)
        except InventoryFormatError as error:
            records[key] = error
    return records


def record_before_writes(
    client: KubeClient,
    plan: ReleasePlan,
    release: Release,
    *,
    previous: InventoryRecord | None,
    source: str,
    revision: str,
) -> None:
    """Add the objects about to be created to the record before creating them: a pass
    cut short then leaves no object that no record names (a later commit dropping it
    prunes it)."""
    known = {entry.ref.identity for entry in previous.entries} if previous is not None else set()
    new = [
        InventoryEntry(p.change.ref)
        for p in plan.objects
        if p.change.action is Action.CREATED and p.change.ref.identity not in known
    ]
    if not new:
        return
    base = previous or InventoryRecord(
        release=release.key, source=source, revision=revision, input_hash="", entries=()
    )
    # With this source: a release handed over stays with the new owner if the pass stops.
    applying = dataclasses.replace(
        base, source=source, entries=(*base.entries, *new), result=APPLYING
    )
    write_inventory(client, applying)


@dataclass(frozen=True)
class AppliedRelease:
    """What one release's writes left, from which its final record is made."""

    rendered: RenderedRelease
    release: Release
    plan: ReleasePlan
    written: WriteResult
    pruned: PruneResult | None
    previous: InventoryRecord | None
    source: str
    revision: str
    dependency_outputs: Mapping[str, JsonObject]
    applied_by: str = ""

    @property
    def changed(self) -> bool:
        """Whether this apply installed the release or changed what it applies."""
        return self.previous is None or self.plan.change_set(dry_run=False).has_changes


def applied_record(applied: AppliedRelease, live: LiveIndex) -> InventoryRecord:
    """The record of a finished apply, as if it succeeded and nothing else happened
    since: every object applied, the stale objects still named while not pruned (a later
    pass that prunes still finds them)."""
    previous = applied.previous
    release = applied.release
    entries = [
        _entry(planned, previous, applied.written.resource_versions, live)
        for planned in applied.plan.objects
    ]
    if previous is not None and (applied.pruned is None or applied.pruned.withheld):
        stale = set(applied.plan.stale)
        entries += [entry for entry in previous.entries if entry.ref in stale]
    return InventoryRecord(
        release=release.key,
        source=applied.source,
        revision=applied.revision,
        input_hash=applied.rendered.input_hash,
        entries=tuple(entries),
        outputs=public_outputs(
            applied.rendered, masked_before=previous.outputs if previous else None
        ),
        dependency_outputs=dict(applied.dependency_outputs),
        result=last_result(Outcome.APPLIED),
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        prune=release.prune,
        delete_pvcs=release.delete_pvcs,
        paused=release.paused,
        timeout_sec=release.timeout_sec,
        ready_since=previous.ready_since if previous is not None and not applied.changed else "",
        applied_by=applied.applied_by,
    )


def settled_record(
    previous: InventoryRecord | None,
    applied: InventoryRecord,
    *,
    health: ReleaseHealth | None,
    ready: bool,
    result: str,
) -> InventoryRecord | None:
    """The record to write once the release's readiness is known, or None when the one
    in the cluster already says it all: an apply that changed nothing keeps the previous
    record (its `time` is the last change, its `revision` the commit that made it), so a
    no-op pass, a new commit that leaves the release as it was, or a release failing the
    same way pass after pass, writes nothing. `readySince` is set when it becomes Ready,
    and Jobs that completed are noted."""
    same = previous is not None and previous == dataclasses.replace(
        applied, revision=previous.revision, time=previous.time, result=previous.result
    )
    record = previous if same and previous is not None else applied
    if health is not None:
        record = with_completed_jobs(record, health)
    if ready and not record.ready_since:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        record = dataclasses.replace(record, ready_since=stamp)
    if record.result != result:
        record = dataclasses.replace(record, result=result)
    return None if record == previous else record


def _entry(
    planned: PlannedObject,
    previous: InventoryRecord | None,
    written: Mapping[Identity, str],
    live: LiveIndex,
) -> InventoryEntry:
    """What the record says of one object after the pass: the resourceVersion written, or
    for an object skipped as unchanged the entry it already had (a controller's status
    writes since then are not Harmonia's business)."""
    ref = planned.change.ref
    recorded = previous.entry(ref) if previous is not None else None
    if planned.change.action is Action.SKIPPED and recorded is not None:
        return dataclasses.replace(recorded, completed=True) if planned.completed else recorded
    resource_version = written.get(ref.identity)
    if resource_version is None:
        current = live.get(ref) or {}
        resource_version = str((current.get("metadata") or {}).get("resourceVersion", ""))  # type: ignore[union-attr]
    return InventoryEntry(ref, planned.digest, resource_version)
