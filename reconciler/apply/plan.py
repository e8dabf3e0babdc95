"""Plan one release's apply: what writing it would change, read-only.

Planning compares each desired object with the live one through a server-side
apply dry-run, skipped when neither the object nor its live resourceVersion
changed since the apply the inventory records. Objects another owner holds are
refused unless the release adopts them; another Harmonia release's objects are
never taken. The plan is what `write.py` writes, `prune.py` prunes and the review
shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.apply.adoption import adoption_refusal
from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.apply.lifecycle import with_lifecycle
from reconciler.apply.live_index import LiveIndex
from reconciler.diff.changeset import Action, ChangeSet, ObjectChange
from reconciler.diff.compare import compare
from reconciler.diff.contained import still_applied
from reconciler.digest import sha256_hex
from reconciler.health.removed_jobs import REMOVED as JOB_REMOVED
from reconciler.health.removed_jobs import job_completed, removed_job_health
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import ClusterUnreachable, Conflict, Invalid, KubeError
from reconciler.objects import ObjectRef, ref_of
from reconciler.release_requests import Release
from reconciler.render.cache import canonical_json
from reconciler.render.model import KubeObject, RenderedRelease
from reconciler.render.ownership import MANAGED_BY, MANAGED_BY_LABEL, OWNER_ANNOTATION
from reconciler.types import ReleaseKey

STALE_KEPT = "no longer rendered; pruning is off, so it stays (and stays in the record)"


def object_digest(obj: KubeObject) -> str:
    return sha256_hex(canonical_json(obj))


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
