"""Which Kubernetes Events a release's page shows: those on its inventory record, its
objects and their pods, newest first, at most twenty, whatever timestamp they carry."""

from __future__ import annotations

from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.health import ReleaseHealth, ReleaseState
from reconciler.health.model import PodState, PodStatus, ResourceState, State
from reconciler.loop.release_events import SHOWN_EVENTS, involved_objects, release_events
from reconciler.objects import ObjectRef
from reconciler.status.live import ReleaseStatus
from reconciler.types import JsonObject, release_key

KAFKA = release_key("streaming", "kafka")


def event(kind: str, name: str, when: str, *, reason: str = "Applied", **stamps: str) -> JsonObject:
    stamped = stamps or {"lastTimestamp": when}
    return {
        "involvedObject": {"kind": kind, "namespace": "streaming", "name": name},
        "type": "Normal",
        "reason": reason,
        "message": f"{reason} {name}",
        "count": 3,
        **stamped,
    }


def kafka_status() -> ReleaseStatus:
    ref = ObjectRef("apps/v1", "StatefulSet", "streaming", "kafka")
    pod = PodState("kafka-0", "node", "Pending", PodStatus.PENDING, reason="ImagePullBackOff")
    resource = ResourceState("StatefulSet", "streaming", "kafka", State.PENDING, pods=(pod,))
    record = InventoryRecord(KAFKA, "repo", "abc", "sha256:x", (InventoryEntry(ref),))
    return ReleaseStatus(record, ReleaseHealth(ReleaseState.PROGRESSING, "waiting", (resource,)))


def test_the_events_shown_are_about_the_inventory_the_objects_and_their_pods() -> None:
    involved = involved_objects(KAFKA, kafka_status())
    listed = [
        event("ConfigMap", "harmonia-inventory-kafka", "2026-12-07T02:00:03Z"),
        event("StatefulSet", "kafka", "2026-12-07T02:00:01Z", reason="SuccessfulCreate"),
        event("Pod", "kafka-0", "2026-12-07T02:00:02Z", reason="BackOff"),
        event("Pod", "someone-else-0", "2026-12-07T02:00:04Z"),
        event("ConfigMap", "harmonia-inventory-zookeeper", "2026-12-07T02:00:05Z"),
    ]

    shown = release_events(listed, involved)

    assert [item["object"] for item in shown] == [
        "ConfigMap/harmonia-inventory-kafka",
        "Pod/kafka-0",
        "StatefulSet/kafka",
    ]
    assert shown[1] == {
        "time": "2026-12-07T02:00:02Z",
        "type": "Normal",
        "reason": "BackOff",
        "object": "Pod/kafka-0",
        "message": "BackOff kafka-0",
        "count": 3,
    }


def test_events_sort_by_their_newest_timestamp_and_at_most_twenty_are_shown() -> None:
    involved = involved_objects(KAFKA, None)
    inventory = "harmonia-inventory-kafka"
    listed = [
        event(
            "ConfigMap", inventory, "", reason=f"R{n:02}", lastTimestamp=f"2026-12-07T02:{n:02}:00Z"
        )
        for n in range(30)
    ]
    listed.append(
        event(
            "ConfigMap",
            inventory,
            "",
            reason="Series",
            eventTime="2026-12-07T01:00:00.123456Z",
            series={"lastObservedTime": "2026-12-07T03:00:00.000001Z"},
        )  # type: ignore[arg-type]
    )

    shown = release_events(listed, involved)

    assert len(shown) == SHOWN_EVENTS == 20
    assert [item["reason"] for item in shown[:3]] == ["Series", "R29", "R28"]
    assert shown[0]["time"] == "2026-12-07T03:00:00Z"
