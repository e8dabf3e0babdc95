"""The one result vocabulary of every verb: what happened to each object of a release
(or, in a dry run, what would happen), collected in a per-release change set.

Diff, apply and prune fill it; the CLI, the status report and the logs render from
it, as with Flux's `ssa.ChangeSet`. Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial

from reconciler.objects import ObjectRef
from reconciler.types import JsonObject, JsonValue, ReleaseKey


class Action(StrEnum):
    """Flux's past-tense actions, for apply and diff alike.

    A diff reports what the apply would do in the same words, with the change set
    marked `dry_run` (as `kubectl apply --dry-run=server` prints "configured (server
    dry run)"), so one renderer serves both verbs.
    """

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    SKIPPED = "skipped"
    """Not compared or not written on purpose (nothing changed since the last apply,
    an exclusion); the reason says which."""


CHANGING_ACTIONS = frozenset({Action.CREATED, Action.CONFIGURED, Action.DELETED})


class DiffText:
    """A diff's text, written when first read and then kept.

    Writing both sides as YAML is most of what a comparison costs, and a pass that
    applies reads no diff of the objects it creates: only a dry run, `-o json` and a
    review show them. Equal when the texts are equal.
    """

    __slots__ = ("_make", "_text")

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make
        self._text: str | None = None

    @classmethod
    def of(cls, text: str) -> DiffText:
        written = cls(lambda: text)
        written._text = text
        return written

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._make()  # two threads at once write the same text
        return self._text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DiffText) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"DiffText({self.text!r})"


@dataclass(frozen=True)
class ObjectChange:
    """One object's outcome, with why, and (for a diff) the masked unified YAML diff."""

    ref: ObjectRef
    action: Action
    reason: str
    diff: DiffText | None = None
    changed_paths: tuple[str, ...] = ()
    """JSON pointers of the fields that differ (for `configured`), e.g. `/spec/replicas`."""

    @property
    def diff_text(self) -> str | None:
        return self.diff.text if self.diff is not None else None

    @property
    def is_change(self) -> bool:
        return self.action in CHANGING_ACTIONS

    def to_json(self) -> JsonObject:
        body: JsonObject = {
            "object": self.ref.to_json(),
            "subject": str(self.ref),
            "action": self.action.value,
            "reason": self.reason,
        }
        if self.changed_paths:
            body["changedPaths"] = list(self.changed_paths)
        if self.diff_text is not None:
            body["diff"] = self.diff_text
        return body

    def __str__(self) -> str:
        return f"{self.ref} {self.action.value}"


@dataclass(frozen=True)
class ChangeSet:
    """One release's object changes, in the order the verb handled them."""

    release: ReleaseKey
    changes: tuple[ObjectChange, ...] = ()
    dry_run: bool = False
    counts: dict[Action, int] = field(init=False, repr=False, compare=False)
    """How many objects took each action; every action is present, in `Action` order."""

    def __post_init__(self) -> None:
        seen: set[tuple[str, str, str, str]] = set()
        for change in self.changes:
            if change.ref.identity in seen:
                raise ValueError(
                    f"release {self.release}: {change.ref} appears twice in one change set"
                )
            seen.add(change.ref.identity)
        counts = dict.fromkeys(Action, 0)
        for change in self.changes:
            counts[change.action] += 1
        object.__setattr__(self, "counts", counts)

    @property
    def has_changes(self) -> bool:
        return any(change.is_change for change in self.changes)

    def summary(self) -> str:
        """One line for logs: `1 created, 2 unchanged`, `(dry run)` appended for a diff."""
        parts = [f"{count} {action.value}" for action, count in self.counts.items() if count]
        text = ", ".join(parts) or "no objects"
        return f"{text} (dry run)" if self.dry_run else text

    def with_diffs(self, rewrite: Callable[[str], str]) -> ChangeSet:
        """This change set with each diff's text passed through `rewrite` when it is read
        (so still written only if read): how a pass cuts its Secrets' values and the values
        it decrypted out of the diffs of objects that are no Secret (a ConfigMap holding a
        decrypted value), which `mask_secret_values` leaves whole."""
        rewritten = tuple(
            change
            if change.diff is None
            else replace(change, diff=DiffText(partial(_rewritten, change.diff, rewrite)))
            for change in self.changes
        )
        return replace(self, changes=rewritten)

    def to_json(self) -> JsonObject:
        """A JSON-compatible value (for `-o json`, the status report and the API)."""
        counts: dict[str, JsonValue] = {
            action.value: count for action, count in self.counts.items()
        }
        return {
            "release": self.release,
            "dryRun": self.dry_run,
            "hasChanges": self.has_changes,
            "counts": counts,
            "changes": [change.to_json() for change in self.changes],
        }


def _rewritten(diff: DiffText, rewrite: Callable[[str], str]) -> str:
    return rewrite(diff.text)
