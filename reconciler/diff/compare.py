"""One object's comparison: what the server would store after Harmonia's apply against
what it stores now.

The diff stage between the kube client's server-side-apply dry-run and the change set:
normalise both sides, drop the release's ignored fields, find the fields that differ,
render a masked unified YAML diff. Pure: the caller brings both objects.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.diff.changeset import Action, DiffText, ObjectChange
from reconciler.diff.fields import changed_paths
from reconciler.diff.ignore import ignore_differences
from reconciler.diff.mask import mask_secret_values
from reconciler.diff.normalize import normalize
from reconciler.diff.text import unified_yaml_diff
from reconciler.objects import ref_of
from reconciler.release_requests.model import IgnoreDifference
from reconciler.render.model import KubeObject

_PATHS_IN_REASON = 3


def compare(
    desired: KubeObject | None,
    live: KubeObject | None,
    *,
    rules: Sequence[IgnoreDifference] = (),
    context_lines: int = 3,
) -> ObjectChange:
    """The change that takes `live` to `desired`, with its diff.

    `desired` is the server-side-apply dry-run result (the object as it would be stored,
    defaults filled in), None for an object to delete; `live` is the object as stored,
    None when it does not exist. Identical objects are `unchanged`, with no text.
    """
    present = desired if desired is not None else live
    if present is None:
        raise ValueError("compare: neither a desired nor a live object")
    ref = ref_of(present)
    if live is not None and ref_of(live).identity != ref.identity:
        raise ValueError(f"{ref}: compared with another object, {ref_of(live)}")
    after = None if desired is None else ignore_differences(normalize(desired), rules)
    before = None if live is None else ignore_differences(normalize(live), rules)
    paths: tuple[str, ...] = ()
    if before is None:
        action, reason = Action.CREATED, "not in the cluster"
    elif after is None:
        action, reason = Action.DELETED, "not in the desired state"
    else:
        paths = changed_paths(before, after)
        if not paths:
            return ObjectChange(ref, Action.UNCHANGED, "matches the cluster")
        action, reason = Action.CONFIGURED, _differs_at(paths)

    def text() -> str:
        shown_before, shown_after = mask_secret_values(before, after)
        return unified_yaml_diff(shown_before, shown_after, ref=ref, context_lines=context_lines)

    return ObjectChange(ref, action, reason, diff=DiffText(text), changed_paths=paths)


def _differs_at(paths: tuple[str, ...]) -> str:
    named = ", ".join(paths[:_PATHS_IN_REASON])
    more = len(paths) - _PATHS_IN_REASON
    return f"differs at {named}" + (f" and {more} more" if more > 0 else "")
