"""The diff stage: a rendered object's server-side-apply dry-run result against the live
object, normalised, with ignored fields dropped and Secret values masked, as a change set.

Sits between rendering (and the kube client's dry-run) and apply; inside:
normalize -> ignore (pointer) -> fields -> mask -> text, joined by compare; changeset
holds the result vocabulary every verb shares. Pure: no I/O in this package.
"""

from reconciler.diff.changeset import CHANGING_ACTIONS, Action, ChangeSet, DiffText, ObjectChange
from reconciler.diff.compare import compare
from reconciler.diff.fields import changed_paths
from reconciler.diff.ignore import ignore_differences, rule_applies
from reconciler.diff.normalize import normalize
from reconciler.diff.pointer import InvalidPointer

__all__ = [
    "CHANGING_ACTIONS",
    "Action",
    "ChangeSet",
    "DiffText",
    "InvalidPointer",
    "ObjectChange",
    "changed_paths",
    "compare",
    "ignore_differences",
    "normalize",
    "rule_applies",
]
