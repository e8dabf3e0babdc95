"""Kubernetes Events for what a pass did to a release, recorded on its inventory ConfigMap.

The loop emits them as each release's report comes in, so `kubectl describe configmap
harmonia-inventory-<name>` and `kubectl get events` show applies, prunes and failures
beside the cluster's own. Building the bodies is pure; `emit_events` sends them.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.apply.inventory import inventory_name
from reconciler.diff.changeset import Action
from reconciler.health import ReleaseState
from reconciler.kube.client import KubeClient
from reconciler.kube.errors import KubeError
from reconciler.objects import ObjectRef, stub_object
from reconciler.reconcile import FAILING, Outcome, ReleaseReport
from reconciler.render.secrets.landing import is_misplaced_value
from reconciler.types import JsonObject, ReleaseKey, split_release_key

log = logging.getLogger(__name__)

SOURCE_COMPONENT = "harmonia"
REPORTING_COMPONENT = "harmonia.dev/reconciler"
MESSAGE_LIMIT = 1024
"""Characters of an event's message (the events.k8s.io limit for a note)."""

DRIFT_CORRECTED = "DriftCorrected"
"""The contract's reason for hand edits put back: no outcome (any applying pass may)."""
RESUMED = "Resumed"
"""The contract's reason for a paused release whose workloads run again."""
SECRET_WARNING = "SecretWarning"
"""The contract's reason for an apply that wrote a decrypted value outside a Secret."""

EVENTFUL = FAILING | {Outcome.APPLIED, Outcome.REMOVED, Outcome.REMOVAL_WITHHELD}
"""Outcomes that are news; Unchanged, Planned and Deferred record nothing (but drift put
back, which only an applying pass does)."""


@dataclass(frozen=True)
class Notice:
    """One event to record: its type (`Normal`/`Warning`), reason and message."""

    type: str
    reason: str
    message: str


def release_notices(report: ReleaseReport, *, revision: str) -> list[Notice]:
    """What is worth an event in `report`, its reason from the contract's vocabulary (the
    outcome's name, DriftCorrected for hand edits put back, SecretWarning for each field
    outside a Secret an apply wrote a decrypted value into). Messages name objects
    and counts, never values: change summaries hold counts, objects are named by
    reference."""
    deleted = _deleted(report)
    corrected = ", ".join(report.drift)
    drift = [
        Notice("Normal", DRIFT_CORRECTED, f"revision {revision}: drift corrected on {corrected}")
    ]
    notices = drift if report.drift else []
    if report.outcome is Outcome.APPLIED:
        summary = report.changes.summary() if report.changes is not None else "no objects"
        message = f"revision {revision} applied: {summary}"
        message = f"{message}; pruned {deleted}" if deleted else message
        misplaced = [
            Notice("Warning", SECRET_WARNING, f"revision {revision}: {warning}")
            for warning in report.warnings
            if is_misplaced_value(warning)
        ]
        return [Notice("Normal", str(Outcome.APPLIED), message), *misplaced, *notices]
    if report.outcome is Outcome.REMOVED:
        message = f"release removed ({report.message})"
        message = f"{message}: deleted {deleted}" if deleted else message
        return [Notice("Normal", str(Outcome.REMOVED), message)]
    if report.outcome in FAILING or report.outcome is Outcome.REMOVAL_WITHHELD:
        message = report.message or f"the release is {report.outcome}"
        return [Notice("Warning", str(report.outcome), message), *notices]
    return notices


def _deleted(report: ReleaseReport) -> str:
    """`2 objects: ConfigMap/shop/a, Secret/shop/b`, or "" when nothing was deleted."""
    refs: list[ObjectRef] = [
        change.ref
        for change in (report.changes.changes if report.changes is not None else ())
        if change.action is Action.DELETED
    ]
    if not refs:
        return ""
    noun = "object" if len(refs) == 1 else "objects"
    return f"{len(refs)} {noun}: " + ", ".join(str(ref) for ref in refs)


def release_events(
    report: ReleaseReport,
    *,
    revision: str,
    now: datetime,
    instance: str,
    inventory_uid: str = "",
) -> list[JsonObject]:
    """The core v1 Event bodies for `report`, on the release's inventory ConfigMap."""
    notices = release_notices(report, revision=revision)
    return notice_events(report.release, notices, now=now, instance=instance, uid=inventory_uid)


def notice_events(
    release: ReleaseKey, notices: list[Notice], *, now: datetime, instance: str, uid: str = ""
) -> list[JsonObject]:
    """The core v1 Event bodies for `notices` about `release`, on its inventory ConfigMap.

    Names are `<inventory name>.<hex>`, the hex fixed by the release, reason, message,
    time and instance: the same event always has the same name. `uid`, when known, lets
    `kubectl describe configmap` find them.
    """
    return [_event(release, notice, now=now, instance=instance, uid=uid) for notice in notices]


def _event(
    release: ReleaseKey, notice: Notice, *, now: datetime, instance: str, uid: str
) -> JsonObject:
    involved = _inventory_ref(release)
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    identity = "\0".join((release, notice.reason, notice.message, now.isoformat(), instance))
    suffix = hashlib.sha256(identity.encode()).hexdigest()[:16]
    involved_object = involved.to_json()
    if uid:
        involved_object["uid"] = uid
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{involved.name}.{suffix}", "namespace": involved.namespace},
        "involvedObject": involved_object,
        "type": notice.type,
        "reason": notice.reason,
        "message": _truncated(notice.message),
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "source": {"component": SOURCE_COMPONENT},
        "reportingComponent": REPORTING_COMPONENT,
        "reportingInstance": instance,
    }


def _inventory_ref(release: ReleaseKey) -> ObjectRef:
    namespace, _name = split_release_key(release)
    return ObjectRef("v1", "ConfigMap", namespace, inventory_name(release))


def _truncated(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    return message[: MESSAGE_LIMIT - 3] + "..."


def health_notices(before: ReleaseState | None, state: ReleaseState, message: str) -> list[Notice]:
    """A release's readiness moved between passes (from `before`; None: first seen): its
    new state is the reason (the contract's Ready, Progressing, Degraded, Failed, Paused),
    a Warning when it is bad; leaving Paused is said first as Resumed."""
    kind = "Warning" if state in (ReleaseState.DEGRADED, ReleaseState.FAILED) else "Normal"
    notices = [Notice(kind, str(state), message)]
    if before is ReleaseState.PAUSED and state is not ReleaseState.PAUSED:
        notices.insert(0, Notice("Normal", RESUMED, f"no longer paused: {state}"))
    return notices


def emit_events(client: KubeClient, report: ReleaseReport, *, revision: str, instance: str) -> None:
    """Record `report`'s events in the cluster; see `emit_notices`."""
    if report.outcome not in EVENTFUL and not report.drift:
        return
    notices = release_notices(report, revision=revision)
    emit_notices(client, report.release, notices, instance=instance)


def emit_notices(
    client: KubeClient, release: ReleaseKey, notices: list[Notice], *, instance: str
) -> None:
    """Record events on the release's inventory record, by server-side apply (so an event
    sent twice is recorded once); a failure is logged, never raised (events are a
    courtesy: a pass never fails for want of one)."""
    try:
        inventory = client.get(stub_object(_inventory_ref(release)))
    except KubeError:
        inventory = None  # the uid is a nicety; the apply below reports a real problem
    metadata = (inventory or {}).get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    events = notice_events(
        release,
        notices,
        now=datetime.now(UTC),
        instance=instance,
        uid=uid if isinstance(uid, str) else "",
    )
    for event in events:
        try:
            client.apply(event)
        except KubeError as error:
            log.warning("release %s: event not recorded: %s", release, error)
