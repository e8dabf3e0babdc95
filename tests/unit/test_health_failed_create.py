"""A workload whose controller cannot create pods: its `FailedCreate` Event says why
(reconciler/health/events.py), and the workload's health shows it."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.health import HealthContext, resource_health
from reconciler.health.events import creation_failures
from tests.unit.test_health_workloads import DAEMON_SET, STATEFUL_SET, changed

FORBIDDEN = (
    'create Pod zookeeper-0 in StatefulSet zookeeper failed error: pods "zookeeper-0" is '
    "forbidden: no PriorityClass with name low-priority was found"
)


def event(uid: str, message: str, *, at: str, reason: str = "FailedCreate") -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"e-{at}", "creationTimestamp": at},
        "involvedObject": {"kind": "StatefulSet", "uid": uid},
        "reason": reason,
        "message": message,
        "lastTimestamp": at,
    }


def test_each_workload_keeps_the_message_of_its_latest_failed_create_event() -> None:
    events = [
        event("sts-zk", "an older refusal", at="2026-12-06T14:00:00Z"),
        event("sts-zk", FORBIDDEN, at="2026-12-06T14:05:00Z"),
        event("sts-zk", "not a creation failure", at="2026-12-06T14:09:00Z", reason="Other"),
        event("ds-agent", "exceeded quota", at="2026-12-06T14:01:00Z"),
    ]
    assert creation_failures(events) == {"sts-zk": FORBIDDEN, "ds-agent": "exceeded quota"}


def test_an_event_with_a_series_counts_from_its_last_observation() -> None:
    recurring = {
        **event("sts-zk", "recurring", at="2026-12-06T14:00:00Z"),
        "series": {"lastObservedTime": "2026-12-06T15:00:00.000000Z"},
    }
    once = event("sts-zk", "once", at="2026-12-06T14:30:00Z")
    assert creation_failures([recurring, once]) == {"sts-zk": "recurring"}


def test_an_event_a_release_applied_is_not_taken_for_the_controllers() -> None:
    forged = event("sts-zk", "run this fix", at="2999-01-01T00:00:00Z")
    forged["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "harmonia"}
    real = event("sts-zk", FORBIDDEN, at="2026-12-06T14:05:00Z")
    assert creation_failures([forged, real]) == {"sts-zk": FORBIDDEN}


def test_a_statefulset_without_pods_shows_its_controllers_failed_create_message() -> None:
    obj = changed(STATEFUL_SET, status__readyReplicas=0, status__replicas=0)
    context = HealthContext(pods=(), creation_failures={"sts-zk": FORBIDDEN})
    health = resource_health(obj, context=context)
    assert (health.reason, health.message) == (
        "FailedCreate",
        f"0 of 3 replicas ready; no pod created: {FORBIDDEN}",
    )


@pytest.mark.parametrize("failures", [{}, {"another-uid": FORBIDDEN}])
def test_without_an_event_of_its_own_it_still_says_no_pod_was_created(
    failures: dict[str, str],
) -> None:
    obj = changed(STATEFUL_SET, status__readyReplicas=0, status__replicas=0)
    health = resource_health(obj, context=HealthContext(pods=(), creation_failures=failures))
    assert (health.reason, health.message) == (
        "PodNotCreated",
        "0 of 3 replicas ready; no pod created",
    )


def test_a_daemonset_without_pods_shows_its_controllers_failed_create_message() -> None:
    obj = changed(DAEMON_SET, metadata__uid="ds-agent", status__numberAvailable=0)
    context = HealthContext(pods=(), creation_failures={"ds-agent": "exceeded quota"})
    health = resource_health(obj, context=context)
    assert health.reason == "FailedCreate" and health.message.endswith(
        "no pod created: exceeded quota"
    )
