"""What became of a release in a pass: the one word the CLI, the status files, the review,
the JSON API, the Events and the inventory record all use for it.

The bottom layer, so that every room below the pass (the review, the inventory) can
speak it too. Plain data.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    APPLIED = "Applied"
    UNCHANGED = "Unchanged"
    PLANNED = "Planned"
    """Dry run: what would change is in the change set."""
    FAILED = "Failed"
    BLOCKED = "Blocked"
    INVALID = "Invalid"
    REMOVED = "Removed"
    REMOVAL_WITHHELD = "RemovalWithheld"
    """Its file left Git, but a guard keeps it until a person confirms the removal."""
    DEFERRED = "Deferred"
    """Not attempted this pass: waiting out a backoff, or the reconciler is stopping."""


FAILING = frozenset({Outcome.FAILED, Outcome.BLOCKED, Outcome.INVALID})
"""The outcomes of a release that is not as its file asks: the pass failed for it."""


class Failure(StrEnum):
    """Whether the same attempt may go through later: the error contract every failure
    of a release is reported under (docs/architecture.md, "The error contract").

    The loop retries a temporary failure with backoff in the same run; a permanent one
    is left alone until what the release is rendered with changes (a new commit, new
    outputs of a dependency), or the reconciler restarts.
    """

    TEMPORARY = "temporary"
    """The cluster, a chart server or Git did not answer, or the release was not Ready
    within its timeout: trying again may work."""
    PERMANENT = "permanent"
    """The same inputs fail the same way: a render error, an invalid file, a policy or
    API server refusal, a failed hook, two releases rendering one object."""
