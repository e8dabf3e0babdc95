"""What the readiness rounds read again for a release not Ready at its first check: the
kinds and namespaces of its objects that were not Ready, and, for a workload, its
namespace's pods, ReplicaSets and Jobs; the rest is taken as the first check saw it."""

from __future__ import annotations

from datetime import timedelta

from reconciler.apply.inventory import InventoryEntry, InventoryRecord
from reconciler.apply.live_index import MANAGED_SELECTOR
from reconciler.apply.wait import Awaited, unready_scopes
from reconciler.health import ReleaseHealth, ReleaseState, ResourceState
from reconciler.health.model import State
from reconciler.kube.watch import WatchScope
from reconciler.objects import ObjectRef
from reconciler.types import ReleaseKey

CONFIG = ObjectRef("v1", "ConfigMap", "shop", "web")
SERVICE = ObjectRef("v1", "Service", "shop", "web")
DEPLOYMENT = ObjectRef("apps/v1", "Deployment", "shop", "web")
CHILDREN = {
    WatchScope("v1", "Pod", "shop"),
    WatchScope("apps/v1", "ReplicaSet", "shop"),
    WatchScope("batch/v1", "Job", "shop"),
}


def awaited(*refs: ObjectRef) -> Awaited:
    record = InventoryRecord(
        ReleaseKey("shop/web"), "src", "rev", "hash", tuple(InventoryEntry(ref) for ref in refs)
    )
    return Awaited(record, timeout=timedelta(minutes=5), paused=False, changed_at=0.0)


def health(*states: tuple[ObjectRef, State]) -> ReleaseHealth:
    resources = tuple(ResourceState(r.kind, r.namespace, r.name, state) for r, state in states)
    return ReleaseHealth(ReleaseState.PROGRESSING, "", resources)


def managed(ref: ObjectRef) -> WatchScope:
    return WatchScope(ref.api_version, ref.kind, ref.namespace, MANAGED_SELECTOR)


def test_a_workload_rolling_out_is_read_again_with_its_pods_and_the_ready_rest_is_not() -> None:
    found = unready_scopes(
        awaited(CONFIG, SERVICE, DEPLOYMENT),
        health((CONFIG, State.READY), (SERVICE, State.READY), (DEPLOYMENT, State.PENDING)),
    )

    assert found == {managed(DEPLOYMENT), *CHILDREN}


def test_a_service_waiting_for_its_address_is_read_again_without_pods() -> None:
    found = unready_scopes(
        awaited(CONFIG, SERVICE), health((CONFIG, State.READY), (SERVICE, State.PENDING))
    )

    assert found == {managed(SERVICE)}


def test_an_object_not_found_at_the_first_check_is_read_again() -> None:
    found = unready_scopes(awaited(CONFIG), health((CONFIG, State.NOT_FOUND)))

    assert found == {managed(CONFIG)}
