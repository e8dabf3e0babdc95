"""A Job its ttlSecondsAfterFinished removed: judged by the Job controller's Events."""

from __future__ import annotations

from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.apply.wait import with_completed_jobs
from reconciler.health import ReleaseHealth, ReleaseState, ResourceState, State
from reconciler.health.removed_jobs import job_completed, removed_job_health
from reconciler.objects import ObjectRef
from reconciler.types import JsonObject, ReleaseKey


def event(reason: str, stamp: str, message: str = "") -> JsonObject:
    return {
        "metadata": {"name": f"create-secret.{reason}", "namespace": "ingress"},
        "involvedObject": {"kind": "Job", "name": "create-secret"},
        "reason": reason,
        "message": message,
        "lastTimestamp": stamp,
    }


def test_a_removed_job_whose_controller_said_completed_is_ready() -> None:
    events = [
        event("SuccessfulCreate", "2026-12-06T10:00:00Z", "Created pod: create-secret-x"),
        event("Completed", "2026-12-06T10:00:02Z", "Job completed"),
    ]
    state = removed_job_health("ingress", "create-secret", events)
    assert (state.state, state.message) == (
        State.READY,
        "completed; removed by its ttlSecondsAfterFinished",
    )
    assert job_completed(state)


def test_a_completed_event_a_chart_rendered_is_not_believed() -> None:
    forged = event("Completed", "2026-12-06T10:00:02Z", "Job completed")
    forged["metadata"] = {  # type: ignore[index]
        **forged["metadata"],  # type: ignore[dict-item]
        "labels": {"app.kubernetes.io/managed-by": "harmonia"},
    }
    state = removed_job_health("ingress", "create-secret", [forged])
    assert state.state is State.NOT_FOUND and not job_completed(state)


def test_a_removed_job_whose_last_run_failed_is_failed_with_the_controllers_reason() -> None:
    events = [
        event("Completed", "2026-12-06T10:00:02Z", "Job completed"),
        event(
            "BackoffLimitExceeded",
            "2026-12-06T11:00:00Z",
            "Job has reached the specified backoff limit",
        ),
    ]
    state = removed_job_health("ingress", "create-secret", events)
    assert (state.state, state.reason, state.message) == (
        State.FAILED,
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit; removed by its ttlSecondsAfterFinished",
    )
    assert not job_completed(state)


def test_a_removed_job_with_no_finish_event_is_not_found() -> None:
    events = [event("SuccessfulCreate", "2026-12-06T10:00:00Z")]
    assert removed_job_health("ingress", "create-secret", events).state is State.NOT_FOUND


def test_a_suspended_job_is_ready_but_not_completed() -> None:
    suspended = ResourceState("Job", "ingress", "create-secret", State.READY, "JobSuspended")
    assert not job_completed(suspended)


def test_an_inventory_entry_remembers_a_completed_job_and_writes_nothing_otherwise() -> None:
    ref = ObjectRef("batch/v1", "Job", "ingress", "create-secret")
    done = InventoryEntry(ref, "digest", "42", completed=True)
    assert InventoryEntry.from_json(done.to_json()) == done
    assert "completed" not in InventoryEntry(ref, "digest", "42").to_json()


def test_a_record_notes_the_jobs_its_health_found_complete() -> None:
    job = InventoryEntry(ObjectRef("batch/v1", "Job", "ingress", "create-secret"), "d", "1")
    settings = InventoryEntry(ObjectRef("v1", "ConfigMap", "ingress", "settings"), "d", "1")
    record = InventoryRecord(ReleaseKey("ingress/nginx"), "src", "rev", "hash", (job, settings))
    completed = ResourceState("Job", "ingress", "create-secret", State.READY, message="1/1")
    ready = ResourceState("ConfigMap", "ingress", "settings", State.READY)
    health = ReleaseHealth(ReleaseState.READY, "all 2 resources are Ready", (completed, ready))
    noted = with_completed_jobs(record, health)
    assert [entry.completed for entry in noted.entries] == [True, False]
    assert with_completed_jobs(noted, health) is noted
