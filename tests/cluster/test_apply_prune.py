"""Prune against the real cluster: only what the inventory names AND carries the
release's labels is deleted; the guards withhold deletion; Namespaces and CRDs
outlive their release; a removed release takes its claims only with deletePvcs."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.policy import Policy
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject
from tests import manifests
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.waiting import wait_for


def config_map(name: str) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"k": name},
    }


def exists(cluster: LiveCluster, *args: str) -> bool:
    return cluster.kubectl("get", *args, check=False).returncode == 0


def test_prune_deletes_what_left_the_render_and_spares_a_look_alike(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(
        namespace, "app", chartPath=bench.chart("app", [config_map("a"), config_map("b")])
    )
    bench.run()
    # Someone copies the release's labels onto an object of their own.
    labels = json.loads(cluster.kubectl("-n", namespace, "get", "cm", "b", "-o", "json").stdout)[
        "metadata"
    ]["labels"]
    look_alike = {
        **config_map("look-alike"),
        "metadata": {"name": "look-alike", "namespace": namespace, "labels": labels},
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(look_alike))

    bench.chart("app", [config_map("a")])
    report = bench.run().releases[key]
    assert report.changes is not None
    deleted = [str(c.ref) for c in report.changes.changes if c.action.value == "deleted"]
    assert deleted == [f"ConfigMap/{namespace}/b"]
    assert not exists(cluster, "-n", namespace, "cm", "b")
    assert exists(cluster, "-n", namespace, "cm", "look-alike")
    assert exists(cluster, "-n", namespace, "cm", "a")


def test_an_inventoried_object_that_lost_its_labels_is_left_alone(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(
        namespace, "app", chartPath=bench.chart("app", [config_map("a"), config_map("b")])
    )
    bench.run()
    # The object was replaced by someone else's under the same name.
    cluster.kubectl("-n", namespace, "delete", "cm", "b")
    cluster.kubectl("-n", namespace, "create", "cm", "b", "--from-literal=owner=someone-else")
    bench.chart("app", [config_map("a")])
    report = bench.run().releases[key]
    assert report.changes is not None
    (kept,) = [c for c in report.changes.changes if str(c.ref).endswith("/b")]
    assert kept.action.value == "skipped"
    assert "does not carry this release's ownership labels" in kept.reason
    assert exists(cluster, "-n", namespace, "cm", "b")


def test_a_render_with_no_objects_prunes_nothing(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(namespace, "app", chartPath=bench.chart("app", [config_map("a")]))
    bench.run()
    bench.chart("app", [])
    report = bench.run().releases[key]
    assert "rendered no objects but had 1; prune withheld" in report.message
    assert exists(cluster, "-n", namespace, "cm", "a")


def test_a_snapshot_that_lost_most_releases_removes_none(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    for name in ("one", "two", "three"):
        bench.release(namespace, name, chartPath=bench.chart(name, [config_map(name)]))
    bench.run()
    bench.remove_release(namespace, "one")
    bench.remove_release(namespace, "two")
    report = bench.run()
    assert report.prune_withheld is not None
    assert "lost 2 of 3 releases" in report.prune_withheld
    assert all(exists(cluster, "-n", namespace, "cm", name) for name in ("one", "two", "three"))

    bench.release(namespace, "one", chartPath="charts/one")
    bench.release(namespace, "two", chartPath="charts/two")
    bench.run()
    bench.remove_release(namespace, "three")
    removed = bench.run()
    assert removed.releases[f"{namespace}/three"].outcome is Outcome.REMOVED  # type: ignore[index]
    assert not exists(cluster, "-n", namespace, "cm", "three")
    assert not exists(cluster, "-n", namespace, "cm", "harmonia-inventory-three")


def test_a_namespace_and_a_crd_outlive_their_release(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    group = f"{namespace}.prune.harmonia.dev"
    extra_namespace = f"{namespace}-extra"
    crd = manifests.crd(group, "Gadget")
    extra: JsonObject = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": extra_namespace},
    }
    bench = Workbench(
        cluster,
        tmp_path / "repo",
        tmp_path / "cache",
        policy=Policy(allowed_namespaces=(namespace, extra_namespace), allow_cluster_scoped=True),
    )
    bench.release(namespace, "keeper", chartPath=bench.chart("keeper", [config_map("keep")]))
    bench.release(
        namespace, "platform", chartPath=bench.chart("platform", [crd, extra, config_map("p")])
    )
    try:
        bench.run()
        bench.remove_release(namespace, "platform")
        report = bench.run()
        changes = report.releases[f"{namespace}/platform"].changes  # type: ignore[index]
        assert changes is not None
        kept = {c.ref.kind: c.reason for c in changes.changes if c.action.value == "skipped"}
        assert set(kept) == {"CustomResourceDefinition", "Namespace"}
        assert exists(cluster, "crd", f"gadgets.{group}")
        assert exists(cluster, "namespace", extra_namespace)
        assert not exists(cluster, "-n", namespace, "cm", "p")
    finally:
        cluster.kubectl("delete", "crd", f"gadgets.{group}", "--wait=false", check=False)
        cluster.kubectl("delete", "namespace", extra_namespace, "--wait=false", check=False)


def test_a_removed_release_takes_its_claims_only_with_delete_pvcs(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    def statefulset(name: str) -> JsonObject:
        labels = {"app": name}
        return {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name},
            "spec": {
                "serviceName": name,
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "db", "image": "registry.invalid/db:1"}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        }

    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    bench.release(namespace, "anchor", chartPath=bench.chart("anchor", [config_map("anchor")]))
    bench.release(
        namespace, "keepdata", chartPath=bench.chart("keepdata", [statefulset("keepdata")])
    )
    bench.release(
        namespace,
        "dropdata",
        chartPath=bench.chart("dropdata", [statefulset("dropdata")]),
        deletePvcs=True,
    )
    bench.run()
    for claim in ("data-keepdata-0", "data-dropdata-0"):
        wait_for(lambda c=claim: exists(cluster, "-n", namespace, "pvc", c), until=bool, what=claim)
    bench.remove_release(namespace, "keepdata")
    bench.run()
    bench.remove_release(namespace, "dropdata")
    bench.run()
    assert not exists(cluster, "-n", namespace, "statefulset", "keepdata")
    assert exists(cluster, "-n", namespace, "pvc", "data-keepdata-0")

    def claim_state() -> str:
        found = cluster.kubectl(
            "-n",
            namespace,
            "get",
            "pvc",
            "data-dropdata-0",
            "-o",
            "jsonpath={.metadata.deletionTimestamp}",
            check=False,
        )
        return "gone" if found.returncode else ("deleting" if found.stdout else "present")

    assert (
        wait_for(claim_state, until=lambda s: s != "present", what="the claim deleted") != "present"
    )
