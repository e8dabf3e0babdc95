"""A pass that reads the reflectors of a long-running reconciler instead of listing: with
nothing changed it sends no request at all; a hand edit the watch saw is put back."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply.inventory import InventoryRecord
from reconciler.apply.live_index import LiveIndex, scopes_to_watch
from reconciler.apply.records import INVENTORY_SCOPE, inventory_records
from reconciler.health.view import health_view
from reconciler.kube.watch import Watches
from reconciler.objects import ObjectRef, stub_object
from reconciler.outcome import Outcome
from reconciler.types import JsonObject, ReleaseKey, split_release_key
from tests import manifests
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.waiting import wait_for


def config_map(name: str) -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": "1"}}


def watching(bench: Workbench, keys: list[ReleaseKey]) -> Watches:
    """Reflectors over what the releases' records name, synced."""
    watches = Watches(bench.client())
    with bench.client() as client:
        records = [r for r in inventory_records(client).values() if isinstance(r, InventoryRecord)]
    mine = [record for record in records if record.release in keys]
    entries = [entry.ref for record in mine for entry in record.entries]
    namespaces = {split_release_key(key)[0] for key in keys}
    watches.want(scopes_to_watch(entries, namespaces) | {INVENTORY_SCOPE})
    return synced(watches)


def synced(watches: Watches) -> Watches:
    wait_for(
        lambda: all(watches.objects(scope) is not None for scope in watches.scopes),
        until=bool,
        what="every reflector synced",
        timeout=60,
    )
    return watches


def test_a_pass_with_nothing_changed_reads_the_reflectors_and_sends_no_request(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    web = bench.release(
        namespace, "web", chartPath=bench.chart("web", [config_map("a"), config_map("b")])
    )
    worker = bench.release(
        namespace,
        "worker",
        chartPath=bench.chart("worker", [manifests.workload("Deployment", "worker", replicas=1)]),
    )
    first = bench.run()
    assert not first.failed, {k: r.message for k, r in first.releases.items()}
    watches = watching(bench, [web, worker])
    try:
        with bench.client() as client:
            report = bench.run(same_commit=True, watched=watches, client=client)
            sent = client.requests_sent
        assert {r.outcome for r in report.releases.values()} == {Outcome.UNCHANGED}
        assert all(r.ready for r in report.releases.values())
        assert sent == 0
    finally:
        watches.stop()


def test_a_hand_edit_seen_by_the_watch_is_put_back_by_a_pass_reading_the_reflectors(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    web = bench.release(namespace, "web", chartPath=bench.chart("web", [config_map("a")]))
    assert not bench.run().failed
    watches = watching(bench, [web])
    try:
        cluster.kubectl("-n", namespace, "patch", "cm", "a", "-p", '{"data":{"v":"edited"}}')
        scope = next(s for s in watches.scopes if s.kind == "ConfigMap" and s.namespace)

        def seen() -> list[object]:
            return [
                o.get("data") for o in watches.objects(scope) or [] if o["metadata"]["name"] == "a"
            ]  # type: ignore[index]

        wait_for(
            seen,
            until=lambda found: found == [{"v": "edited"}],
            what="the edit seen by the watch",
            timeout=30,
        )
        report = bench.run(same_commit=True, watched=watches).releases[web]
        assert report.outcome is Outcome.APPLIED and report.drift == (f"ConfigMap/{namespace}/a",)
        found = cluster.kubectl("-n", namespace, "get", "cm", "a", "-o", "jsonpath={.data.v}")
        assert found.stdout == "1"
    finally:
        watches.stop()


def test_an_index_reads_watched_objects_one_by_one_and_lists_once_the_watch_is_gone(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    web = bench.release(
        namespace, "web", chartPath=bench.chart("web", [config_map("a"), config_map("b")])
    )
    assert not bench.run().failed
    watches = watching(bench, [web])
    a, b = (ObjectRef("v1", "ConfigMap", namespace, name) for name in ("a", "b"))
    try:
        with bench.client() as client:
            live = LiveIndex(client, watched=watches)
            live.load([stub_object(a)])
            found = live.get(a)
            assert found is not None and found["data"] == {"v": "1"}
            assert client.requests_sent == 0
            watches.stop()
            found = live.get(b)
            assert found is not None and found["metadata"]["name"] == "b"
            assert client.requests_by_verb() == {"list": 1}
    finally:
        watches.stop()


def test_an_apply_answer_kept_by_the_index_is_kept_without_its_managed_fields(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    with bench.client() as client:
        answer = client.apply(
            {**config_map("kept"), "metadata": {"name": "kept", "namespace": namespace}}
        )
        assert answer["metadata"].get("managedFields")  # type: ignore[index, union-attr]
        live = LiveIndex(client)
        live.update(answer)
        kept = live.get(ObjectRef("v1", "ConfigMap", namespace, "kept"))
        assert kept is not None and "managedFields" not in kept["metadata"]  # type: ignore[operator]
        assert kept["data"] == {"v": "1"}


def test_an_index_reads_a_namespaces_pods_from_the_readiness_watches_given_it(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    worker = manifests.workload("Deployment", "worker", replicas=1)
    key = bench.release(namespace, "worker", chartPath=bench.chart("worker", [worker]))
    assert not bench.run().failed
    with bench.client() as client:
        followed = Watches(client, keep=health_view)
        followed.want(scopes_to_watch([], [namespace]))
        try:
            synced(followed)
            before = client.requests_sent
            owned = LiveIndex(client, children=followed).owned(namespace)
            assert client.requests_sent == before
            (record,) = [r for k, r in inventory_records(client).items() if k == key]
            assert isinstance(record, InventoryRecord)
            deployment = LiveIndex(client).get(record.entries[0].ref)
            assert deployment is not None
            context = owned.context_for([deployment])
            assert [pod["metadata"]["name"] for pod in context.pods]  # type: ignore[index]
        finally:
            followed.stop()
