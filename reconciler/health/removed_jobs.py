"""A Job the cluster no longer has because its `ttlSecondsAfterFinished` removed it.

The TTL-after-finished controller deletes a Job (and its pods) once it has finished, so
its result leaves with it. How it ended is then known from the inventory record (the
completion was seen earlier) or from the Job controller's Events about it, which the API
server keeps for an hour by default. Pure: the caller lists the Events.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.health.events import applied_by_harmonia, last_seen
from reconciler.health.fields import fields
from reconciler.health.model import LiveObject, Reason, ResourceState, State, not_found

JOB_KIND = "Job"
COMPLETED_EVENT = "Completed"
"""The reason of the Job controller's Event when a Job completes."""
FAILED_EVENTS = frozenset(
    {
        "BackoffLimitExceeded",
        "DeadlineExceeded",
        "FailedIndexes",
        "MaxFailedIndexesExceeded",
        "PodFailurePolicy",
    }
)
"""The reasons of the Job controller's Events when a Job fails (those of its Failed condition)."""
REMOVED = "removed by its ttlSecondsAfterFinished"


def completed_job_removed(namespace: str, name: str) -> ResourceState:
    """A Job that completed and was removed since: done, not missing."""
    return ResourceState(JOB_KIND, namespace, name, State.READY, message=f"completed; {REMOVED}")


def removed_job_health(namespace: str, name: str, events: Iterable[LiveObject]) -> ResourceState:
    """A Job absent from the cluster, judged by the newest of the Job controller's Events
    that says how it finished; NotFound when none does (never created, or deleted before
    it finished)."""
    finishes = []
    for event in events:
        if applied_by_harmonia(event):
            continue  # a chart may render an Event: only a controller's is believed
        view = fields(event, listed_as="Event")
        reason = view.text("reason")
        if reason == COMPLETED_EVENT or reason in FAILED_EVENTS:
            finishes.append((last_seen(event), reason, view.text("message")))
    if not finishes:
        return not_found(JOB_KIND, namespace, name)
    _stamp, reason, message = max(finishes)
    if reason == COMPLETED_EVENT:
        return completed_job_removed(namespace, name)
    text = f"{message}; {REMOVED}" if message else REMOVED
    return ResourceState(JOB_KIND, namespace, name, State.FAILED, reason, text)


def job_completed(state: ResourceState) -> bool:
    """Whether `state` is of a Job that ran to completion (Ready, and not merely suspended)."""
    return (
        state.kind == JOB_KIND
        and state.state is State.READY
        and state.reason != Reason.JOB_SUSPENDED
    )
