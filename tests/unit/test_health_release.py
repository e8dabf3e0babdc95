"""A release's health from its resources: the six states, which resource the message names,
the timeout, and byte-identical output for the same resources in any order."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from reconciler.health import (
    HealthError,
    ReleaseState,
    ResourceState,
    State,
    not_found,
    release_health,
)

FIVE_MINUTES = timedelta(minutes=5)


def ready(kind: str, name: str, namespace: str = "streaming") -> ResourceState:
    return ResourceState(kind, namespace, name, State.READY)


ZOOKEEPER_PENDING = ResourceState(
    "StatefulSet", "streaming", "zookeeper", State.PENDING, "PodPending"
)
RELEASE = (
    ready("ConfigMap", "zookeeper-config"),
    ready("Service", "zookeeper"),
    ready("Service", "zookeeper-headless"),
    ZOOKEEPER_PENDING,
    ready("PodDisruptionBudget", "zookeeper"),
)


def test_a_release_whose_resources_are_all_ready_is_ready() -> None:
    health = release_health([ready("Service", "zk"), ready("StatefulSet", "zk")])
    assert (health.state, health.message, health.ready) == (
        ReleaseState.READY,
        "all 2 resources are Ready",
        True,
    )


def test_a_release_with_nothing_rendered_is_ready_and_says_so() -> None:
    assert release_health([]).message == "it has no resources"


def test_a_converging_release_is_progressing_and_names_the_resource_that_is_not_ready() -> None:
    health = release_health(RELEASE, since_change=timedelta(minutes=1), timeout=FIVE_MINUTES)
    assert health.state is ReleaseState.PROGRESSING
    assert health.message == "StatefulSet streaming/zookeeper is Pending: PodPending"


def test_the_message_adds_the_resources_own_message() -> None:
    pending = ResourceState(
        "Deployment", "shop", "web", State.PENDING, "Unschedulable", "pod web-1 is Pending"
    )
    assert release_health([pending]).message == (
        "Deployment shop/web is Pending: Unschedulable (pod web-1 is Pending)"
    )


def test_the_first_resource_named_follows_the_staged_apply_order() -> None:
    resources = [
        ResourceState("Deployment", "shop", "api", State.PENDING, "PodPending"),
        ResourceState("Widget", "shop", "w", State.PENDING, "NotReady"),
        ResourceState(
            "CustomResourceDefinition", "", "widgets.example.com", State.PENDING, "Installing"
        ),
        ResourceState("PersistentVolumeClaim", "shop", "data", State.PENDING, "PvcPending"),
    ]
    health = release_health(resources)
    assert health.message == "CustomResourceDefinition widgets.example.com is Pending: Installing"
    assert [r.kind for r in health.resources] == [
        "CustomResourceDefinition",
        "PersistentVolumeClaim",
        "Deployment",
        "Widget",
    ]


def test_webhooks_come_after_custom_resources_and_ties_go_by_namespace_and_name() -> None:
    resources = [
        ready("ValidatingWebhookConfiguration", "guard", ""),
        ready("Widget", "b", "shop"),
        ready("Widget", "a", "shop"),
        ready("Gadget", "z", "shop"),
    ]
    order = [(r.kind, r.name) for r in release_health(resources).resources]
    assert order == [
        ("Gadget", "z"),
        ("Widget", "a"),
        ("Widget", "b"),
        ("ValidatingWebhookConfiguration", "guard"),
    ]


def test_a_failed_resource_makes_the_release_failed_and_is_named_before_pending_ones() -> None:
    failed_job = ResourceState("Job", "streaming", "init", State.FAILED, "BackoffLimitExceeded")
    health = release_health([*RELEASE, failed_job])
    assert (health.state, health.message) == (
        ReleaseState.FAILED,
        "Job streaming/init is Failed: BackoffLimitExceeded",
    )


def test_a_change_not_ready_within_its_timeout_has_failed() -> None:
    health = release_health(RELEASE, since_change=timedelta(minutes=6), timeout=FIVE_MINUTES)
    assert health.state is ReleaseState.FAILED
    assert health.message == (
        "StatefulSet streaming/zookeeper is Pending: PodPending; "
        "not Ready within its timeout of 5m0s after the change"
    )


def test_exactly_at_the_timeout_a_release_is_still_progressing() -> None:
    health = release_health(RELEASE, since_change=FIVE_MINUTES, timeout=FIVE_MINUTES)
    assert health.state is ReleaseState.PROGRESSING


def test_a_release_that_was_ready_since_its_change_and_is_not_now_is_degraded() -> None:
    health = release_health(RELEASE, since_change=timedelta(hours=3), was_ready=True)
    assert (health.state, health.message) == (
        ReleaseState.DEGRADED,
        "StatefulSet streaming/zookeeper is Pending: PodPending",
    )


def test_a_missing_resource_keeps_a_release_from_being_ready() -> None:
    health = release_health([ready("Service", "zk"), not_found("ConfigMap", "streaming", "zk")])
    assert health.message == "ConfigMap streaming/zk is NotFound (not found in the cluster)"


def test_a_paused_release_is_paused_and_names_a_workload_still_scaling_down() -> None:
    scaled = ResourceState("StatefulSet", "streaming", "zookeeper", State.PAUSED)
    assert release_health([scaled, ready("Service", "zk")], paused=True).message == (
        "release is paused"
    )
    lagging = ResourceState(
        "Deployment", "streaming", "ui", State.PENDING, "Pausing", "1 replicas still running"
    )
    health = release_health([scaled, lagging], paused=True)
    assert (health.state, health.message) == (
        ReleaseState.PAUSED,
        "release is paused; Deployment streaming/ui is Pending: Pausing (1 replicas still running)",
    )


def test_a_blocked_release_says_which_dependency_blocks_it() -> None:
    reason = "dependency streaming/zookeeper is Progressing"
    health = release_health(RELEASE, blocked_reason=reason, paused=True)
    assert (health.state, health.message) == (ReleaseState.BLOCKED, reason)


def test_a_pass_that_failed_for_the_release_wins_over_everything_else() -> None:
    reason = "render failed: chart charts/kafka: template error"
    health = release_health(RELEASE, failed_reason=reason, blocked_reason="dependency x")
    assert (health.state, health.message) == (ReleaseState.FAILED, reason)


def test_the_same_resources_in_any_order_give_byte_identical_json() -> None:
    pods_and_all = [*RELEASE, not_found("Secret", "streaming", "tls")]
    expected = json.dumps(release_health(pods_and_all).to_json(), sort_keys=False)
    shuffler = random.Random(7)
    for _ in range(10):
        shuffled = list(pods_and_all)
        shuffler.shuffle(shuffled)
        assert json.dumps(release_health(shuffled).to_json(), sort_keys=False) == expected


def test_release_health_serialises_with_pods_only_where_a_resource_has_them() -> None:
    body = release_health([ready("ConfigMap", "c"), ZOOKEEPER_PENDING]).to_json()
    assert body == {
        "state": "Progressing",
        "message": "StatefulSet streaming/zookeeper is Pending: PodPending",
        "resources": [
            {
                "kind": "ConfigMap",
                "namespace": "streaming",
                "name": "c",
                "state": "Ready",
                "reason": "",
                "message": "",
            },
            {
                "kind": "StatefulSet",
                "namespace": "streaming",
                "name": "zookeeper",
                "state": "Pending",
                "reason": "PodPending",
                "message": "",
            },
        ],
    }


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"since_change": timedelta(seconds=-1)}, "since_change must not be negative"),
        ({"timeout": timedelta(0)}, "timeout must be positive"),
    ],
)
def test_impossible_times_are_refused(settings: dict[str, timedelta], error: str) -> None:
    with pytest.raises(HealthError, match=f"release health: {error}"):
        release_health(RELEASE, **settings)


def test_a_late_release_says_the_same_thing_however_long_it_has_waited() -> None:
    """The message goes into the status files: it must not grow with the time waited."""
    messages = {
        release_health(RELEASE, since_change=waited, timeout=timedelta(minutes=2)).message
        for waited in (timedelta(minutes=2, seconds=26), timedelta(minutes=2, seconds=46))
    }
    assert len(messages) == 1
