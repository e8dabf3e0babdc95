"""Event bodies for a release's report: Applied and Removed as Normal, failures as Warning,
nothing for a pass that changed nothing; on the inventory ConfigMap, with stable names."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.diff import Action, ChangeSet, DiffText, ObjectChange
from reconciler.loop.events import MESSAGE_LIMIT, release_events
from reconciler.objects import ObjectRef
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.types import ReleaseKey

KEY = ReleaseKey("shop/web")
NOW = datetime(2026, 11, 23, 10, 0, 5, 123456, tzinfo=UTC)


def change(kind: str, name: str, action: Action, diff_text: str | None = None) -> ObjectChange:
    diff = DiffText.of(diff_text) if diff_text is not None else None
    return ObjectChange(ObjectRef("v1", kind, "shop", name), action, "why", diff=diff)


def events(report: ReleaseReport, **options: Any) -> list[Any]:
    return release_events(report, revision="abc123", now=NOW, instance="pod-1", **options)


def applied(*changes: ObjectChange) -> ReleaseReport:
    return ReleaseReport(KEY, Outcome.APPLIED, "all 2 resources Ready", ChangeSet(KEY, changes))


def test_an_applied_release_records_a_normal_event_with_the_change_summary_and_revision() -> None:
    (event,) = events(
        applied(change("ConfigMap", "a", Action.CREATED), change("Service", "b", Action.UNCHANGED))
    )
    assert event == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event["metadata"]["name"], "namespace": "shop"},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "namespace": "shop",
            "name": "harmonia-inventory-web",
        },
        "type": "Normal",
        "reason": "Applied",
        "message": "revision abc123 applied: 1 created, 1 unchanged",
        "firstTimestamp": "2026-11-23T10:00:05Z",
        "lastTimestamp": "2026-11-23T10:00:05Z",
        "count": 1,
        "source": {"component": "harmonia"},
        "reportingComponent": "harmonia.dev/reconciler",
        "reportingInstance": "pod-1",
    }
    prefix, _, suffix = event["metadata"]["name"].partition(".")
    assert prefix == "harmonia-inventory-web"
    assert len(suffix) == 16 and int(suffix, 16) >= 0


def test_objects_deleted_by_an_apply_are_listed_in_its_applied_event() -> None:
    (event,) = events(
        applied(
            change("ConfigMap", "a", Action.UNCHANGED),
            change("ConfigMap", "old", Action.DELETED),
            change("Secret", "gone", Action.DELETED),
        )
    )
    assert (event["type"], event["reason"]) == ("Normal", "Applied")
    assert event["message"] == (
        "revision abc123 applied: 1 unchanged, 2 deleted; "
        "pruned 2 objects: ConfigMap/shop/old, Secret/shop/gone"
    )


def test_a_removed_release_records_a_removed_event_with_what_was_deleted() -> None:
    changes = ChangeSet(KEY, (change("ConfigMap", "a", Action.DELETED),))
    (event,) = events(ReleaseReport(KEY, Outcome.REMOVED, "its file left Git", changes))
    assert (event["type"], event["reason"]) == ("Normal", "Removed")
    assert (
        event["message"]
        == "release removed (its file left Git): deleted 1 object: ConfigMap/shop/a"
    )


def test_a_hand_edit_put_back_records_drift_corrected_beside_the_applied_event() -> None:
    report = dataclasses.replace(
        applied(change("ConfigMap", "a", Action.CONFIGURED)), drift=("ConfigMap/shop/a",)
    )
    applied_event, drift = events(report)
    assert applied_event["reason"] == "Applied"
    assert (drift["type"], drift["reason"]) == ("Normal", "DriftCorrected")
    assert drift["message"] == "revision abc123: drift corrected on ConfigMap/shop/a"


def test_an_apply_that_wrote_a_decrypted_value_outside_a_secret_records_a_secret_warning() -> None:
    misplaced = "ConfigMap/shop/settings data.dsn holds a value decrypted from values/web.yaml"
    report = dataclasses.replace(
        applied(change("ConfigMap", "settings", Action.CONFIGURED)),
        warnings=("chart web 1.0 does not match the dependency's", misplaced),
    )
    unchanged = dataclasses.replace(report, outcome=Outcome.UNCHANGED)

    applied_event, warning = events(report)

    assert applied_event["reason"] == "Applied"
    assert (warning["type"], warning["reason"]) == ("Warning", "SecretWarning")
    assert warning["message"] == f"revision abc123: {misplaced}"
    assert events(unchanged) == []


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.INVALID, Outcome.BLOCKED])
def test_a_failing_release_records_a_warning_with_its_message(outcome: Outcome) -> None:
    (event,) = events(ReleaseReport(KEY, outcome, "Deployment/shop/web apply failed: nope"))
    assert (event["type"], event["reason"]) == ("Warning", str(outcome))
    assert event["message"] == "Deployment/shop/web apply failed: nope"


def test_a_long_failure_message_is_cut_to_the_limit() -> None:
    (event,) = events(ReleaseReport(KEY, Outcome.FAILED, "x" * 5000))
    assert len(event["message"]) == MESSAGE_LIMIT
    assert event["message"].endswith("...")


@pytest.mark.parametrize("outcome", [Outcome.UNCHANGED, Outcome.PLANNED, Outcome.DEFERRED])
def test_a_pass_that_changed_nothing_records_nothing(outcome: Outcome) -> None:
    report = ReleaseReport(
        KEY, outcome, "", ChangeSet(KEY, (change("ConfigMap", "a", Action.CREATED),), True)
    )
    assert events(report) == []


def test_the_same_event_gets_the_same_name_and_another_time_another() -> None:
    report = applied(change("ConfigMap", "a", Action.CREATED))
    first, again = events(report)[0], events(report)[0]
    later = release_events(report, revision="abc123", now=NOW.replace(second=6), instance="pod-1")[
        0
    ]
    assert first["metadata"]["name"] == again["metadata"]["name"]
    assert later["metadata"]["name"] != first["metadata"]["name"]


def test_the_inventory_uid_is_named_when_known() -> None:
    (event,) = events(applied(), inventory_uid="1234-abcd")
    assert event["involvedObject"]["uid"] == "1234-abcd"


def test_event_messages_name_objects_never_their_values() -> None:
    diff = "-  password: '***'\n+  password: hunter2-plain"
    report = applied(
        change("Secret", "db", Action.CONFIGURED, diff_text=diff),
        change("Secret", "old", Action.DELETED, diff_text=diff),
    )
    assert "hunter2" not in json.dumps(events(report))


def test_a_withheld_removal_records_a_warning_named_removal_withheld() -> None:
    why = "its file left Git; its removal is withheld (the snapshot lost 4 of 4 releases)"
    (event,) = events(ReleaseReport(KEY, Outcome.REMOVAL_WITHHELD, why))
    assert (event["type"], event["reason"], event["message"]) == ("Warning", "RemovalWithheld", why)
