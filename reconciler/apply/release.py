"""One release against the cluster: plan (read-only), then write in stages.

Planning compares each desired object with the live one through a server-side
apply dry-run, skipped when neither the object nor its live resourceVersion
changed since the apply the inventory records. Writing applies only what differs,
stage by stage (CRDs wait until Established), then records the inventory and
prunes what left the render. Objects another owner holds are refused unless the
release adopts them (taking over the fields it applies, without changing the object);
another Harmonia release's objects are never taken.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.apply.adoption import adoption_refusal
from reconciler.apply.hooks import HookFailed, run_hooks
from reconciler.apply.inventory import (
    InventoryEntry,
    InventoryRecord,
    inventory_name,
    record_from_configmap,
)
from reconciler.apply.lifecycle import with_lifecycle
from reconciler.apply.live import LiveIndex
from reconciler.apply.managed_fields import transferred_managed_fields
from reconciler.apply.prune import PruneResult, prune_stale
from reconciler.apply.staging import staged
from reconciler.diff.changeset import Action, ChangeSet, ObjectChange
from reconciler.diff.compare import compare
from reconciler.diff.contained import still_applied
from reconciler.health.removed_jobs import REMOVED as JOB_REMOVED
from reconciler.health.removed_jobs import job_completed, removed_job_health
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import ClusterUnreachable, Conflict, Invalid, KubeError, StaleObject
from reconciler.objects import ObjectRef, ref_of, stub_object
from reconciler.release_requests import Release
from reconciler.render.cache import canonical_json
from reconciler.render.model import KubeObject, RenderedRelease
from reconciler.render.ownership import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    OWNER_ANNOTATION,
)
from reconciler.render.secrets.redaction import public_outputs
from reconciler.types import JsonObject, ReleaseKey, split_release_key

CRD_ESTABLISH_TIMEOUT = 60.0
HANDOVER_ATTEMPTS = 3
_WRITTEN = (Action.CREATED, Action.CONFIGURED)
"""Tries at rewriting an adopted object's field owners while controllers write to it."""
STALE_KEPT = "no longer rendered; pruning is off, so it stays (and stays in the record)"


def object_digest(obj: KubeObject) -> str:
    return hashlib.sha256(canonical_json(obj)).hexdigest()


@dataclass(frozen=True)
class PlannedObject:
    desired: KubeObject
    change: ObjectChange
    digest: str
    """object_digest(desired): what the inventory records as applied."""
    take_over: bool = False
    """Write with force: the release adopts the object, or takes back hand-edited fields."""
    hand_over: bool = False
    """The object existed before the release recorded it (adopted now, or in a pass that
    did not finish): after the write, the fields Harmonia applies become its alone."""
    completed: bool = False
    """A Job that completed at this digest and that its TTL removed: recorded as such."""


@dataclass(frozen=True)
class ReleasePlan:
    release: ReleaseKey
    objects: tuple[PlannedObject, ...]
    stale: tuple[ObjectRef, ...]
    """In the previous inventory, no longer rendered: to prune."""
    refused: tuple[str, ...] = ()
    """Objects that cannot be applied (owned elsewhere, conflicts): the release fails."""
    prune: bool = True
    """Whether the stale objects are pruned; if not they stay, and stay in the record."""

    def change_set(self, *, dry_run: bool) -> ChangeSet:
        changes = [planned.change for planned in self.objects]
        changes += [
            ObjectChange(ref=ref, action=Action.DELETED, reason="no longer rendered")
            if self.prune
            else ObjectChange(ref=ref, action=Action.SKIPPED, reason=STALE_KEPT)
            for ref in self.stale
        ]
        return ChangeSet(release=self.release, changes=tuple(changes), dry_run=dry_run)


@dataclass(frozen=True)
class ApplyResult:
    release: ReleaseKey
    changes: ChangeSet
    inventory: InventoryRecord | None
    prune: PruneResult | None = None
    error: str | None = None
    drift: tuple[str, ...] = field(default=())
    """Objects changed in the cluster since Harmonia's last apply (hand edits corrected)."""
    post_hooks: str | None = None
    """The hook event to run once the release is Ready (post-install / post-upgrade)."""
    hook_messages: tuple[str, ...] = ()
    record_pending: bool = False
    """`inventory` differs from the record in the cluster and is not written yet: the
    caller writes it once it knows whether the release became Ready (`defer_record`)."""


def _owner(live: KubeObject) -> str | None:
    metadata: Any = live.get("metadata") or {}
    labels = metadata.get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        return None
    return str((metadata.get("annotations") or {}).get(OWNER_ANNOTATION) or "")


def _ownership_problem(release: Release, live: KubeObject) -> tuple[str | None, bool]:
    """(refusal, adopting) for applying over `live`."""
    owner = _owner(live)
    if owner == str(release.key):
        return None, False
    subject = str(ref_of(live))
    if owner:
        return (
            f"{subject} belongs to release {owner}; Harmonia never takes another release's objects",
            False,
        )
    if not release.adopt:
        return (
            f"{subject} exists and was not created by Harmonia; set `adopt: true` in the "
            "release file to take it over"
        ), False
    return None, True


def edited_by_hand(live: KubeObject, conflict: Conflict) -> bool:
    """True when every conflicting manager changed the object by update (kubectl edit,
    patch, a controller's update), not by its own server-side apply: that is drift in
    fields Harmonia applies, corrected by taking them back. Another applier's fields
    are a real conflict, reported unless the release sets `force`."""
    entries: Any = (live.get("metadata") or {}).get("managedFields") or []  # type: ignore[union-attr]
    operations = {entry.get("manager"): entry.get("operation") for entry in entries}
    return all(operations.get(item.manager) == "Update" for item in conflict.conflicts)


def plan_release(
    client: KubeClient,
    rendered: RenderedRelease,
    release: Release,
    *,
    previous: InventoryRecord | None,
    live: LiveIndex,
    prune: bool = True,
) -> ReleasePlan:
    """What applying the release would do; reads only (dry-runs). `prune`: the pass
    prunes (the release's own `prune` decides too)."""
    live.load(rendered.objects)
    desired = with_lifecycle(
        rendered.objects,
        paused_release=release.paused,
        restarted_at=release.restarted_at,
        live=live.lookup,
    )
    planned: list[PlannedObject] = []
    refused: list[str] = []
    for obj in desired:
        ref = ref_of(obj)
        current = live.get(ref)
        adopting = False
        if current is not None:
            refusal, adopting = _ownership_problem(release, current)
            if adopting:
                refusal = adoption_refusal(client, current)
            if refusal:
                refused.append(refusal)
                continue
        digest = object_digest(obj)
        recorded = previous.entry(ref) if previous is not None else None
        if current is None and _removed_after_completion(obj, recorded, digest, live):
            change = ObjectChange(ref, Action.SKIPPED, f"completed; {JOB_REMOVED}")
            planned.append(PlannedObject(obj, change, digest, completed=True))
            continue
        if current is not None and not adopting and _unchanged(obj, current, recorded, digest):
            change = ObjectChange(ref, Action.SKIPPED, "unchanged since the last apply")
            planned.append(PlannedObject(obj, change, digest))
            continue
        if current is None:
            planned.append(
                PlannedObject(obj, compare(obj, None, rules=release.ignore_differences), digest)
            )
            continue
        take_over = release.force or adopting
        try:
            try:
                after = client.apply(obj, dry_run=True, force=take_over)
            except Conflict as error:
                # Who changed the fields is in managedFields, which the index does not keep.
                if not edited_by_hand(client.get(obj) or current, error):
                    raise
                take_over = True
                after = client.apply(obj, dry_run=True, force=True)
        except Conflict as error:
            refused.append(f"{error}; set `force: true` to take these fields")
            continue
        except Invalid as error:
            if not (error.immutable and release.force):
                hint = "; set `force: true` to delete and recreate it" if error.immutable else ""
                refused.append(f"{error}{hint}")
                continue
            # Recreated on write: compare with what is applied, defaults aside.
            after, take_over = obj, True
        except ClusterUnreachable:
            raise  # the pass stops: nothing is known about this object
        except KubeError as error:
            refused.append(str(error))
            continue
        change = compare(after, current, rules=release.ignore_differences)
        hand_over = adopting or recorded is None
        planned.append(PlannedObject(obj, change, digest, take_over, hand_over))
    rendered_refs = {ref_of(obj).identity for obj in desired}
    stale = tuple(
        entry.ref
        for entry in (previous.entries if previous is not None else ())
        if entry.ref.identity not in rendered_refs
    )
    return ReleasePlan(
        release.key, tuple(planned), stale, tuple(refused), prune=prune and release.prune
    )


def _removed_after_completion(
    desired: KubeObject, recorded: InventoryEntry | None, digest: str, live: LiveIndex
) -> bool:
    """A Job that completed as it is rendered now and that its ttlSecondsAfterFinished
    removed since (the record noted it, or the Job controller's Events say so): done, so
    not created again until its spec changes."""
    spec: Any = desired.get("spec") or {}
    if (
        desired.get("kind") != "Job"
        or spec.get("ttlSecondsAfterFinished") is None
        or recorded is None
        or recorded.digest != digest
    ):
        return False
    ref = recorded.ref
    return recorded.completed or job_completed(
        removed_job_health(ref.namespace, ref.name, live.events_about(ref))
    )


def _unchanged(
    desired: KubeObject, current: KubeObject, recorded: InventoryEntry | None, digest: str
) -> bool:
    """Whether the object is as Harmonia last applied it, so no dry-run is needed: the
    same desired form, and the live object untouched since (same resourceVersion) or
    changed only outside what Harmonia applies (a controller writing its status)."""
    if recorded is None or recorded.digest != digest:
        return False
    resource_version = (current.get("metadata") or {}).get("resourceVersion")  # type: ignore[union-attr]
    return recorded.resource_version == resource_version or still_applied(desired, current)


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


def apply_release(
    client: KubeClient,
    rendered: RenderedRelease,
    release: Release,
    *,
    previous: InventoryRecord | None,
    live: LiveIndex,
    revision: str,
    source: str,
    dependency_outputs: Mapping[str, JsonObject] | None = None,
    prune: bool = True,
    defer_record: bool = False,
) -> ApplyResult:
    """Plan, then write what differs, record the inventory, prune what left the render.

    `defer_record`: leave the final record to the caller, who waits for the release and
    writes it once with `readySince` (one write instead of two; until then the record made
    before the writes, or the previous one, names every object the release may hold).
    """
    plan = plan_release(client, rendered, release, previous=previous, live=live, prune=prune)
    if plan.refused:
        return ApplyResult(
            release.key, plan.change_set(dry_run=True), previous, error="; ".join(plan.refused)
        )
    namespace, _name = split_release_key(release.key)
    ensure_namespace(client, namespace, live)
    changing = previous is None or plan.change_set(dry_run=False).has_changes
    phase = "install" if previous is None else "upgrade"
    hook_messages: list[str] = []
    if changing and rendered.hooks:
        try:
            hook_messages = run_hooks(
                client, rendered.hooks, event=f"pre-{phase}", timeout=release.timeout_sec
            )
        except HookFailed as error:
            return ApplyResult(
                release.key, plan.change_set(dry_run=True), previous, error=str(error)
            )
    _record_before_writes(
        client, plan, release, previous=previous, source=source, revision=revision
    )
    written: dict[tuple[str, str, str, str], str] = {}
    outcomes: list[ObjectChange] = []
    by_identity = {ref_of(p.desired).identity: p for p in plan.objects}
    drift: list[str] = []
    for stage in staged([p.desired for p in plan.objects]):
        for obj in stage:
            planned = by_identity[ref_of(obj).identity]
            change = planned.change
            try:
                stored = _store(client, planned, release)
            except ClusterUnreachable:
                raise  # the pass stops; the record made before the writes names the objects
            except KubeError as error:
                return ApplyResult(
                    release.key,
                    ChangeSet(release.key, tuple(outcomes)),
                    previous,
                    error=str(error),
                )
            if stored is not None:
                live.update(stored)
                written[change.ref.identity] = str(stored["metadata"]["resourceVersion"])  # type: ignore[index, call-overload]
            recorded = previous.entry(change.ref) if previous is not None else None
            if (
                change.action is Action.CONFIGURED
                and recorded is not None
                and recorded.digest == planned.digest
            ):
                drift.append(str(change.ref))
            if obj.get("kind") == "CustomResourceDefinition":
                _wait_established(client, obj)
            outcomes.append(change)
    entries = [_entry(planned, previous, written, live) for planned in plan.objects]
    record = InventoryRecord(
        release=release.key,
        source=source,
        revision=revision,
        input_hash=rendered.input_hash,
        entries=tuple(entries),
        outputs=public_outputs(rendered, masked_before=previous.outputs if previous else None),
        dependency_outputs=dependency_outputs or {},
        result="Applied",
        time=datetime.now(UTC).isoformat(timespec="seconds"),
        prune=release.prune,
        delete_pvcs=release.delete_pvcs,
        paused=release.paused,
        timeout_sec=release.timeout_sec,
        ready_since=previous.ready_since if previous is not None and not changing else "",
    )
    pruned = None
    if plan.prune and plan.stale:
        pruned = prune_stale(
            client,
            plan.stale,
            release=release.key,
            rendered_nothing=not rendered.objects,
        )
        outcomes.extend(pruned.changes)
    else:
        outcomes.extend(ObjectChange(ref, Action.SKIPPED, STALE_KEPT) for ref in plan.stale)
    if previous is not None and (pruned is None or pruned.withheld):
        # Not pruned (pruning off, or the guard held): the record keeps naming them, so a
        # later pass that prunes still finds them.
        stale = set(plan.stale)
        kept = (entry for entry in previous.entries if entry.ref in stale)
        record = dataclasses.replace(record, entries=(*record.entries, *kept))
    # Written after the prune: a pass cut short in between leaves the stale objects in
    # the record, and the next pass prunes them. A pass that changed nothing leaves the
    # record as it was: its `time` is the last change, and a no-op pass writes nothing.
    # Its `result` is the caller's to settle once it knows whether the release is Ready.
    pending = previous is None or previous != dataclasses.replace(
        record, time=previous.time, result=previous.result
    )
    if previous is not None and not pending:
        record = previous
    elif not defer_record:
        write_inventory(client, record)
    return ApplyResult(
        release.key,
        ChangeSet(release.key, tuple(outcomes)),
        record,
        prune=pruned,
        drift=tuple(drift),
        post_hooks=f"post-{phase}" if changing and rendered.hooks else None,
        hook_messages=tuple(hook_messages),
        record_pending=pending and defer_record,
    )


def _entry(
    planned: PlannedObject,
    previous: InventoryRecord | None,
    written: Mapping[tuple[str, str, str, str], str],
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


def _record_before_writes(
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
        base, source=source, entries=(*base.entries, *new), result="Applying"
    )
    write_inventory(client, applying)


def write_inventory(client: KubeClient, record: InventoryRecord) -> None:
    client.apply(record.to_configmap(), force=True)


def read_inventory(client: KubeClient, release: ReleaseKey) -> InventoryRecord | None:
    namespace, _name = split_release_key(release)
    configmap = client.get(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": inventory_name(release), "namespace": namespace},
        }
    )
    return record_from_configmap(configmap) if configmap is not None else None
