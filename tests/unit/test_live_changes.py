"""What a watched change asks of the reconciler: drift of a release that heals it is a
pass of that release; a pod's change is a readiness check; a sync request is a pass; new
outputs of a release outside the repository are a pass of its dependents here."""

from __future__ import annotations

from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.live_index import MANAGED_SELECTOR
from reconciler.apply.records import INVENTORY_SCOPE
from reconciler.apply.sync_request import REQUESTED_AT
from reconciler.kube.watch import Change, WatchScope
from reconciler.loop.live_changes import LiveChanges, ReadinessCheck, Repository
from reconciler.loop.pass_queue import PassRequest
from reconciler.render.ownership import ownership_labels
from reconciler.types import JsonObject, ReleaseKey

WEB, ZK, KAFKA = ReleaseKey("shop/web"), ReleaseKey("infra/zk"), ReleaseKey("shop/kafka")
OURS = {WEB: True, KAFKA: False}


def changes() -> LiveChanges:
    return LiveChanges(
        Repository(
            heals=lambda key: OURS.get(key, False),
            dependents=lambda key: frozenset({KAFKA}) if key == ZK else frozenset(),
            owns=lambda key: key in OURS,
        )
    )


def object_of(release: ReleaseKey, name: str = "web") -> JsonObject:
    namespace = release.split("/")[0]
    metadata = {"name": name, "namespace": namespace, "labels": ownership_labels(release)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


def record(release: ReleaseKey, outputs: JsonObject, **annotations: str) -> JsonObject:
    configmap = InventoryRecord(release, "src", "rev", "hash", (), outputs=outputs).to_configmap()
    configmap["metadata"]["annotations"].update(annotations)  # type: ignore[index, union-attr]
    return configmap


def managed(namespace: str) -> WatchScope:
    return WatchScope("v1", "ConfigMap", namespace, MANAGED_SELECTOR)


def test_a_change_to_an_object_of_a_release_that_heals_asks_for_a_pass_of_it_alone() -> None:
    found = changes().classify(Change(managed("shop"), "MODIFIED", object_of(WEB)))
    assert found == PassRequest(frozenset({WEB}), reasons=("ConfigMap/shop/web changed",))
    deleted = changes().classify(Change(managed("shop"), "DELETED", object_of(WEB)))
    assert deleted == PassRequest(frozenset({WEB}), reasons=("ConfigMap/shop/web deleted",))


def test_the_echo_of_harmonias_own_write_asks_nothing_but_its_deletion_does() -> None:
    echo = Change(managed("shop"), "MODIFIED", object_of(WEB), writers=frozenset({"harmonia"}))
    assert changes().classify(echo) is None
    with_edit = Change(
        managed("shop"), "MODIFIED", object_of(WEB), writers=frozenset({"harmonia", "kubectl-edit"})
    )
    assert changes().classify(with_edit) is not None
    deleted = Change(managed("shop"), "DELETED", object_of(WEB), writers=frozenset({"harmonia"}))
    assert changes().classify(deleted) is not None


def test_no_pass_for_a_release_that_does_not_heal_or_is_not_this_repositorys() -> None:
    assert changes().classify(Change(managed("shop"), "MODIFIED", object_of(KAFKA))) is None
    assert changes().classify(Change(managed("infra"), "MODIFIED", object_of(ZK))) is None
    unlabelled = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert changes().classify(Change(managed("shop"), "MODIFIED", unlabelled)) is None


def test_a_record_seen_among_a_namespaces_objects_asks_nothing_there() -> None:
    assert changes().classify(Change(managed("shop"), "MODIFIED", record(WEB, {}))) is None


def test_a_pod_change_is_a_readiness_check_of_its_namespace() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}}
    found = changes().classify(Change(WatchScope("v1", "Pod", "shop"), "MODIFIED", pod))
    assert found == ReadinessCheck("shop")


def test_a_sync_request_on_a_record_of_this_repository_asks_for_a_pass_of_that_release() -> None:
    stamp = "2026-12-06T17:00:00.000000Z"
    found = changes().classify(
        Change(INVENTORY_SCOPE, "MODIFIED", record(WEB, {}, **{REQUESTED_AT: stamp}))
    )
    assert found == PassRequest(
        frozenset({WEB}),
        reasons=(f"sync of {WEB} requested at {stamp}",),
        syncs=((WEB, stamp),),
    )
    other = record(ZK, {}, **{REQUESTED_AT: stamp})
    assert changes().classify(Change(INVENTORY_SCOPE, "MODIFIED", other)) is None


def test_new_outputs_of_an_outside_release_ask_for_a_pass_of_its_dependents_here() -> None:
    watching = changes()
    assert watching.classify(Change(INVENTORY_SCOPE, "ADDED", record(ZK, {"a": "1"}))) is None
    assert watching.classify(Change(INVENTORY_SCOPE, "MODIFIED", record(ZK, {"a": "1"}))) is None
    found = watching.classify(Change(INVENTORY_SCOPE, "MODIFIED", record(ZK, {"a": "2"})))
    assert found == PassRequest(frozenset({KAFKA}), reasons=(f"{ZK} published new outputs",))


def test_the_first_change_of_a_record_listed_at_the_start_is_measured_against_the_listing() -> None:
    watching = changes()
    watching.seen([InventoryRecord(ZK, "src", "rev", "hash", (), outputs={"a": "1"})])

    found = watching.classify(Change(INVENTORY_SCOPE, "MODIFIED", record(ZK, {"a": "2"})))

    assert found == PassRequest(frozenset({KAFKA}), reasons=(f"{ZK} published new outputs",))


def test_a_listing_does_not_overwrite_what_a_records_own_changes_said() -> None:
    watching = changes()
    watching.classify(Change(INVENTORY_SCOPE, "ADDED", record(ZK, {"a": "1"})))
    watching.seen([InventoryRecord(ZK, "src", "rev", "hash", (), outputs={"a": "2"})])

    found = watching.classify(Change(INVENTORY_SCOPE, "MODIFIED", record(ZK, {"a": "2"})))

    assert found == PassRequest(frozenset({KAFKA}), reasons=(f"{ZK} published new outputs",))


def test_new_outputs_of_a_release_of_this_repository_ask_nothing() -> None:
    watching = changes()
    watching.classify(Change(INVENTORY_SCOPE, "ADDED", record(WEB, {"a": "1"})))
    assert watching.classify(Change(INVENTORY_SCOPE, "MODIFIED", record(WEB, {"a": "2"}))) is None


def test_a_look_alike_of_a_record_asks_for_no_sync() -> None:
    stamp = "2026-12-06T17:00:00.000000Z"
    look_alike = record(WEB, {}, **{REQUESTED_AT: stamp})
    # Rendering gives a release's own objects the owner annotation of their release; a
    # record carries its own release's, so another release's object cannot pass for it.
    look_alike["metadata"]["annotations"]["harmonia.dev/owner"] = "shop/other"  # type: ignore[index]
    assert changes().classify(Change(INVENTORY_SCOPE, "MODIFIED", look_alike)) is None
