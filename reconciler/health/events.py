"""Why a workload's controller cannot create its pods, read from the Events it records.

The StatefulSet and DaemonSet controllers report a pod they cannot create (a missing
PriorityClass, a quota, an admission webhook's refusal) only as a `FailedCreate` Event on
the workload, with no condition; health shows that message instead of "no pod created".
The caller lists the namespace's `FailedCreate` Events; this keeps each workload's latest.
An Event that a release applied (it carries Harmonia's ownership labels) is not the
controller's word: any repository's chart could otherwise put its text (a dated-ahead
"fix" to run) into another release's status. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.health.model import FAILED_CREATE, LiveObject
from reconciler.render.ownership import MANAGED_BY, MANAGED_BY_LABEL


def creation_failures(events: Iterable[LiveObject]) -> dict[str, str]:
    """The message of the latest `FailedCreate` Event of each involved object, by its uid."""
    latest: dict[str, tuple[str, str]] = {}
    for event in events:
        involved = event.get("involvedObject")
        uid = involved.get("uid") if isinstance(involved, dict) else None
        message = event.get("message")
        if event.get("reason") != FAILED_CREATE or not uid or not isinstance(message, str):
            continue
        if applied_by_harmonia(event):
            continue
        when = last_seen(event)
        if str(uid) not in latest or when >= latest[str(uid)][0]:
            latest[str(uid)] = (when, message.strip())
    return {uid: message for uid, (_, message) in latest.items()}


def applied_by_harmonia(event: LiveObject) -> bool:
    """An Event some release rendered (it carries the ownership labels): a chart's word,
    not a controller's, so never a reason for another object's health."""
    metadata = event.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return isinstance(labels, dict) and labels.get(MANAGED_BY_LABEL) == MANAGED_BY


def last_seen(event: LiveObject) -> str:
    """When the Event was last recorded, as RFC 3339 text (which sorts as time)."""
    series = event.get("series")
    metadata = event.get("metadata")
    candidates = (
        series.get("lastObservedTime") if isinstance(series, dict) else None,
        event.get("lastTimestamp"),
        event.get("eventTime"),
        metadata.get("creationTimestamp") if isinstance(metadata, dict) else None,
    )
    return max((str(value) for value in candidates if value), default="")
