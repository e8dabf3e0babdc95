"""What a review of a change to the repository says: per release the change, its objects,
why it changed, and the resources it will request. The renderers read only this.

Filled by `revisions.compare_revisions` (two rendered revisions, no cluster) or by the CLI
from a live dry-run pass (`harmonia diff --live`). Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.diff.changeset import ChangeSet
from reconciler.outcome import FAILING as FAILING_OUTCOMES
from reconciler.outcome import Outcome
from reconciler.release_requests import Diagnostic
from reconciler.review.estimate import Totals
from reconciler.types import JsonObject, ReleaseKey


class ReleaseChange(StrEnum):
    """What the head does to a release: a change of the diff (added, removed, changed,
    unchanged), or, where the head does not render it, the pass's outcome for that, in the
    review's lower case (`Outcome.FAILED` is `failed`)."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    INVALID = Outcome.INVALID.lower()
    """The head's file is invalid (or outside the allowed namespaces): not rendered."""
    FAILED = Outcome.FAILED.lower()
    """The head does not render."""
    BLOCKED = Outcome.BLOCKED.lower()
    """A dependency failed, or its outputs are not known (outside the repository)."""

    @property
    def outcome(self) -> Outcome | None:
        """The pass's outcome this change stands for; None for a change of the diff."""
        return _OUTCOMES.get(self)

    @classmethod
    def not_rendered(cls, outcome: Outcome) -> ReleaseChange | None:
        """The change that stands for a pass's `outcome`; None for an outcome that is not
        one of the review's (the release rendered, or was removed)."""
        return next((change for change, known in _OUTCOMES.items() if known is outcome), None)


_OUTCOMES = {
    ReleaseChange.INVALID: Outcome.INVALID,
    ReleaseChange.FAILED: Outcome.FAILED,
    ReleaseChange.BLOCKED: Outcome.BLOCKED,
}

CHANGING = frozenset({ReleaseChange.ADDED, ReleaseChange.REMOVED, ReleaseChange.CHANGED})
NOT_RENDERED = frozenset(_OUTCOMES)
"""The head does not render the release: Invalid, Failed or Blocked."""
FAILING = frozenset(
    change
    for change in NOT_RENDERED
    if change.outcome in FAILING_OUTCOMES and change.outcome is not Outcome.BLOCKED
)
"""The releases that fail the review: those whose outcome is failing (`outcome.FAILING`),
but Blocked. A blocked release fails through a dependency, which fails the review itself
(it is Failed or Invalid, or a cycle fails validation), or for want of a cluster: the
outputs of a dependency outside the repository are not known offline, which says nothing
against the head (`--live` renders it with them)."""


@dataclass(frozen=True)
class RevisionName:
    """One side of the comparison as the user named it, and the commit it resolved to."""

    name: str
    commit: str = ""

    def __str__(self) -> str:
        if not self.commit or self.commit.startswith(self.name):
            return self.name
        return f"{self.name} ({self.commit[:12]})"

    def to_json(self) -> JsonObject:
        return {"name": self.name, "commit": self.commit or None}


@dataclass(frozen=True)
class DependencyChange:
    """A dependency whose published outputs differ, so its dependent renders differently."""

    alias: str
    release: ReleaseKey
    outputs: tuple[str, ...]
    """The output keys added, removed or changed (their values are not carried: outputs
    may hold addresses or credentials a pull-request comment should not repeat)."""

    def to_json(self) -> JsonObject:
        return {"alias": self.alias, "release": self.release, "changedOutputs": list(self.outputs)}


@dataclass(frozen=True)
class ResourceDelta:
    """What the release requests at the base and at the head (WALM's dry-run estimate)."""

    base: Totals
    head: Totals

    @property
    def cpu_cores(self) -> float:
        return round(self.head.requests.cpu_cores - self.base.requests.cpu_cores, 3)

    @property
    def memory_mib(self) -> float:
        return round(self.head.requests.memory_mib - self.base.requests.memory_mib, 3)

    @property
    def storage_gib(self) -> float:
        return round(self.head.storage_gib - self.base.storage_gib, 3)

    @property
    def changed(self) -> bool:
        return any((self.cpu_cores, self.memory_mib, self.storage_gib))

    def __add__(self, other: ResourceDelta) -> ResourceDelta:
        return ResourceDelta(self.base + other.base, self.head + other.head)

    def to_json(self) -> JsonObject:
        return {
            "base": self.base.to_json(),
            "head": self.head.to_json(),
            "delta": {
                "cpuCores": self.cpu_cores,
                "memoryMiB": self.memory_mib,
                "storageGiB": self.storage_gib,
            },
        }


@dataclass(frozen=True)
class ReleaseReview:
    release: ReleaseKey
    change: ReleaseChange
    objects: ChangeSet
    """Every object compared, unchanged ones included; diffs masked."""
    message: str = ""
    """Why it is invalid, failed or blocked; or a note on how it was compared."""
    warnings: tuple[str, ...] = ()
    """What rendering the head changed or doubted without failing."""
    request_changed: bool = False
    """The release file itself (its request) differs between the two sides."""
    dependencies: tuple[DependencyChange, ...] = ()
    resources: ResourceDelta | None = None
    """None when a side did not render, or when the base is the cluster."""

    @property
    def cause(self) -> str:
        """Why the release changes, in a few words for a table cell or a log line."""
        if self.change is not ReleaseChange.CHANGED:
            return ""
        parts = ["its request changed"] if self.request_changed else []
        parts.extend(f"the outputs of {item.release} change" for item in self.dependencies)
        return "; ".join(parts) or "its chart or values files changed"

    def to_json(self) -> JsonObject:
        return {
            "release": self.release,
            "change": self.change.value,
            "message": self.message,
            "warnings": list(self.warnings),
            "requestChanged": self.request_changed,
            "dependencies": [item.to_json() for item in self.dependencies],
            "resources": None if self.resources is None else self.resources.to_json(),
            "objects": self.objects.to_json(),
        }


@dataclass(frozen=True)
class Review:
    base: RevisionName
    head: RevisionName
    releases: tuple[ReleaseReview, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    """The head's validation problems (files named as the user sees them)."""
    notes: tuple[str, ...] = ()
    """How it was compared (the Kubernetes versions rendered for, skipped parts)."""

    @property
    def has_changes(self) -> bool:
        return any(item.change in CHANGING for item in self.releases)

    @property
    def failed(self) -> bool:
        """The head fails validation or a release of it does not render (exit 1)."""
        return any(item.is_error for item in self.diagnostics) or any(
            item.change in FAILING for item in self.releases
        )

    @property
    def resources(self) -> ResourceDelta | None:
        """The sum over the releases whose both sides were estimated; None if there are none."""
        known = [item.resources for item in self.releases if item.resources is not None]
        return sum(known[1:], known[0]) if known else None

    def to_json(self) -> JsonObject:
        total = self.resources
        return {
            "base": self.base.to_json(),
            "head": self.head.to_json(),
            "hasChanges": self.has_changes,
            "failed": self.failed,
            "diagnostics": [item.to_json() for item in self.diagnostics],
            "releases": [item.to_json() for item in self.releases],
            "resources": None if total is None else total.to_json(),
            "notes": list(self.notes),
        }
