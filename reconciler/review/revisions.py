"""Two revisions of a repository compared without a cluster: what a pull request changes.

`harmonia diff --base REV --head REV` computes the desired state of each side
(`desired.compute_desired_state`) and hands both here. Each release's objects go through
the diff stage's `compare` (normalised, ignoreDifferences, Secret values masked); the
release's change is explained (its request, or its dependencies' outputs) and its
resource estimate compared. Pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from reconciler.desired import DesiredState
from reconciler.diff import (
    Action,
    ChangeSet,
    DiffText,
    ObjectChange,
    compare,
    ignore_differences,
    normalize,
)
from reconciler.diff.fields import same_json
from reconciler.objects import ref_of
from reconciler.release_requests.model import IgnoreDifference, Release
from reconciler.render.model import KubeObject, Outputs, RenderedRelease, RenderError
from reconciler.review.encrypted import (
    NO_SOPS_FILES,
    EncryptedChange,
    EncryptedSides,
    encrypted_changes,
    sealed,
)
from reconciler.review.estimate import Totals, estimate_release
from reconciler.review.model import (
    DependencyChange,
    ReleaseChange,
    ReleaseReview,
    ResourceDelta,
    Review,
    RevisionName,
)
from reconciler.types import ReleaseKey

Objects = tuple[KubeObject, ...]

# `compare` speaks of the cluster ("live", "desired"); here both sides are revisions.
_SIDE_LABELS = (("--- live ", "--- base "), ("+++ desired ", "+++ head "))
_REASONS = {
    Action.CREATED: "only in the head",
    Action.DELETED: "only in the base",
    Action.UNCHANGED: "the same in both",
}
_VERSION_ORIGINS = {
    "harmonia.yaml": "kubeVersion of harmonia.yaml",
    "default": "harmonia.yaml names no kubeVersion: Harmonia's default",
}


def compare_revisions(
    base: DesiredState,
    head: DesiredState,
    *,
    base_name: RevisionName,
    head_name: RevisionName,
    only: ReleaseKey | None = None,
    encrypted: EncryptedSides = NO_SOPS_FILES,
) -> Review:
    """Every release either side knows (or only `only`), dependencies first, with the
    head's validation problems. `encrypted` names the SOPS files of both sides, so a
    field holding an encrypted value shows as one line, never as its placeholder."""
    keys = _in_dependency_order(_known(base) | _known(head), head)
    return Review(
        base=base_name,
        head=head_name,
        releases=tuple(
            review_release(key, base, head, encrypted=encrypted)
            for key in keys
            if only is None or key == only
        ),
        diagnostics=head.diagnostics,
        notes=_version_notes(base, head),
    )


def review_release(
    key: ReleaseKey,
    base: DesiredState,
    head: DesiredState,
    *,
    encrypted: EncryptedSides = NO_SOPS_FILES,
) -> ReleaseReview:
    """One release: gone from the head, not rendered there, or compared object by object."""
    if key not in _known(head):
        return _gone(key, base, head, encrypted)
    if key not in head.render.rendered:
        change, message = _not_rendered(head, key)
        return ReleaseReview(key, change, ChangeSet(key, dry_run=True), message=message)
    before = _objects(base, key, hooks=True)
    changes = object_changes(
        key,
        before or (),
        _objects(head, key, hooks=True) or (),
        rules=_rules(head, key),
        encrypted=encrypted,
    )
    release = head.loaded.releases[key]
    in_base = key in _known(base)
    if not in_base:
        change = ReleaseChange.ADDED
    else:
        change = ReleaseChange.CHANGED if changes.has_changes else ReleaseChange.UNCHANGED
    return ReleaseReview(
        key,
        change,
        changes,
        message="the base did not render: every object is shown as new" if before is None else "",
        warnings=head.render.rendered[key].warnings,
        request_changed=in_base and base.loaded.releases.get(key) != release,
        dependencies=dependency_changes(
            release, before=base.render.rendered, after=head.render.rendered
        ),
        resources=_resources(key, _objects(base, key), _objects(head, key)),
    )


def _gone(
    key: ReleaseKey, base: DesiredState, head: DesiredState, encrypted: EncryptedSides
) -> ReleaseReview:
    """Removed; unless its file is still there and no longer loads, which names no release."""
    if _unreadable(head, _file_of(base, key)):
        message = "its file does not load at the head, so it names no release (see the errors)"
        return ReleaseReview(key, ReleaseChange.INVALID, ChangeSet(key, dry_run=True), message)
    before = _objects(base, key, hooks=True)
    return ReleaseReview(
        key,
        ReleaseChange.REMOVED,
        object_changes(key, before or (), (), rules=_rules(base, key), encrypted=encrypted),
        message="its file left Git: its objects are deleted when pruning is on",
        resources=_resources(key, _objects(base, key), ()),
    )


def object_changes(
    key: ReleaseKey,
    before: Objects,
    after: Objects,
    *,
    rules: Sequence[IgnoreDifference] = (),
    encrypted: EncryptedSides = NO_SOPS_FILES,
) -> ChangeSet:
    """The head's objects in render order, then those only the base has."""
    old = {ref_of(obj).identity: obj for obj in before}
    new = {ref_of(obj).identity: obj for obj in after}
    changes = [_compared(obj, old.get(identity), rules, encrypted) for identity, obj in new.items()]
    changes.extend(
        _compared(None, obj, rules, encrypted)
        for identity, obj in old.items()
        if identity not in new
    )
    return ChangeSet(key, tuple(_between_revisions(change) for change in changes), dry_run=True)


def _compared(
    head: KubeObject | None,
    base: KubeObject | None,
    rules: Sequence[IgnoreDifference],
    encrypted: EncryptedSides,
) -> ObjectChange:
    """`compare` on both sides sealed: a field holding an encrypted value reads the same
    marker at both, and its change (if its ciphertext changed) is a line of its own."""
    if not encrypted.has_placeholders:
        return compare(head, base, rules=rules)
    after = None if head is None else sealed(_prepared(head, rules), encrypted.head)
    before = None if base is None else sealed(_prepared(base, rules), encrypted.base)
    change = compare(
        None if after is None else after.obj, None if before is None else before.obj, rules=rules
    )
    if after is None or before is None:
        return change
    return _with_encrypted(change, encrypted_changes(before, after, encrypted))


def _prepared(obj: KubeObject, rules: Sequence[IgnoreDifference]) -> KubeObject:
    """As `compare` reads it (a Secret's stringData folded into data), so the fields
    sealed are the fields compared."""
    return ignore_differences(normalize(obj), rules)


def _with_encrypted(change: ObjectChange, found: tuple[EncryptedChange, ...]) -> ObjectChange:
    if not found:
        return change
    lines = "".join(f"# {item.describe(change.ref)}\n" for item in found)
    paths = (*change.changed_paths, *(item.pointer for item in found))
    rest = change.diff
    if change.action is Action.UNCHANGED:
        return ObjectChange(
            change.ref,
            Action.CONFIGURED,
            "encrypted values differ",
            diff=DiffText.of(lines),
            changed_paths=paths,
        )
    return dataclasses.replace(
        change,
        diff=DiffText(lambda: lines + (rest.text if rest is not None else "")),
        changed_paths=paths,
    )


def dependency_changes(
    release: Release,
    *,
    before: Mapping[ReleaseKey, RenderedRelease],
    after: Mapping[ReleaseKey, RenderedRelease],
) -> tuple[DependencyChange, ...]:
    """The dependencies whose outputs differ, when the release received different values.

    This is WALM's fan-out: ZooKeeper scaled publishes new addresses, so Kafka renders
    differently although its own file did not change.
    """
    old, new = before.get(release.key), after.get(release.key)
    if old is None or new is None or same_json(old.values, new.values):
        return ()
    found = []
    for alias, target in sorted(release.dependencies.items()):
        if target in before and target in after:
            keys = changed_outputs(before[target].outputs, after[target].outputs)
            if keys:
                found.append(DependencyChange(alias, target, keys))
    return tuple(found)


def changed_outputs(before: Outputs, after: Outputs) -> tuple[str, ...]:
    """Output keys added, removed, or holding another value (`1` is not `true`)."""
    return tuple(
        key
        for key in sorted({*before, *after})
        if key not in before or key not in after or not same_json(before[key], after[key])
    )


def _in_dependency_order(keys: set[ReleaseKey], head: DesiredState) -> list[ReleaseKey]:
    """The head's levels (a dependency before its dependents), then the rest by name."""
    ordered = [key for level in head.graph.levels for key in sorted(level) if key in keys]
    return ordered + sorted(keys - set(ordered))


def _known(state: DesiredState) -> set[ReleaseKey]:
    return set(state.loaded.releases) | set(state.loaded.invalid_releases)


def _objects(state: DesiredState, key: ReleaseKey, *, hooks: bool = False) -> Objects | None:
    """What the release renders to (Helm hooks too, if asked): () when the side lacks the
    release, None when it did not render."""
    if key not in _known(state):
        return ()
    rendered = state.render.rendered.get(key)
    if rendered is None:
        return None
    return (*rendered.objects, *(hook.object for hook in rendered.hooks if hooks))


def _file_of(state: DesiredState, key: ReleaseKey) -> str | None:
    """The file that holds the release, as loading names it."""
    release = state.loaded.releases.get(key)
    if release is not None:
        return release.source.file
    return next((item.file for item in state.diagnostics if item.release == key), None)


def _unreadable(state: DesiredState, file: str | None) -> bool:
    """Whether `file` has an error: a file that is not YAML names no release, yet the
    release is not removed (its objects stay as they are)."""
    return file is not None and any(
        item.file == file and item.is_error for item in state.diagnostics
    )


def _rules(state: DesiredState, key: ReleaseKey) -> tuple[IgnoreDifference, ...]:
    release = state.loaded.releases.get(key)
    return release.ignore_differences if release is not None else ()


def _not_rendered(head: DesiredState, key: ReleaseKey) -> tuple[ReleaseChange, str]:
    if key in head.render.failed:
        return ReleaseChange.FAILED, head.render.failed[key].message
    if key in head.render.blocked:
        return ReleaseChange.BLOCKED, head.render.blocked[key]
    if key in head.loaded.invalid_releases:
        return ReleaseChange.INVALID, "its file is invalid (see the validation errors)"
    return ReleaseChange.INVALID, "not rendered: see the validation errors"


def _between_revisions(change: ObjectChange) -> ObjectChange:
    return dataclasses.replace(
        change,
        reason=_REASONS.get(change.action, change.reason),
        diff=DiffText.of(_relabelled(change.diff.text)) if change.diff is not None else None,
    )


def _relabelled(text: str) -> str:
    for old, new in _SIDE_LABELS:
        text = text.replace(old, new, 1)
    return text


def _resources(
    key: ReleaseKey, before: Objects | None, after: Objects | None
) -> ResourceDelta | None:
    """Requests at both sides; None when a side did not render or cannot be estimated."""
    if before is None or after is None:
        return None
    try:
        return ResourceDelta(_totals(key, before), _totals(key, after))
    except RenderError:
        return None


def _totals(key: ReleaseKey, objects: Objects) -> Totals:
    return estimate_release(key, objects).totals if objects else Totals()


def _version_notes(base: DesiredState, head: DesiredState) -> tuple[str, ...]:
    sides = [("the base", base.versions), ("the head", head.versions)]
    if base.versions == head.versions:
        sides = [("both revisions", head.versions)]
    return tuple(
        f"{name} rendered without a cluster for Kubernetes {versions.kube_version} "
        f"({_VERSION_ORIGINS.get(versions.origin, versions.origin)})"
        for name, versions in sides
    )
