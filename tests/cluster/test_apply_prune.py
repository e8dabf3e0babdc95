"""Prune against the real cluster: only what the inventory names AND carries the
release's labels is deleted; the guards withhold deletion; Namespaces and CRDs
outlive their release; a removed release takes its claims only with deletePvcs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.policy import Policy
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.workbench import REPOSITORY_FILE, Workbench
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


def inventory(cluster: LiveCluster, namespace: str, name: str) -> dict[str, Any]:
    """The release's inventory record as stored in the cluster."""
    found = cluster.kubectl(
        "-n", namespace, "get", "cm", f"harmonia-inventory-{name}", "-o", "json"
    )
    record: dict[str, Any] = json.loads(json.loads(found.stdout)["data"]["inventory.json"])
    return record


def recorded_names(cluster: LiveCluster, namespace: str, release: str) -> list[str]:
    return sorted(entry["name"] for entry in inventory(cluster, namespace, release)["entries"])


def applied_release(
    cluster: LiveCluster, namespace: str, tmp_path: Path, name: str, *config_maps: str
) -> tuple[Workbench, ReleaseKey]:
    """A bench whose release `name` holds one ConfigMap per name in `config_maps`, applied
    once: the starting point of every prune story below."""
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    objects = [config_map(each) for each in config_maps]
    key = bench.release(namespace, name, chartPath=bench.chart(name, objects))
    bench.run()
    return bench, key


def test_prune_deletes_what_left_the_render_and_spares_a_look_alike(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench, key = applied_release(cluster, namespace, tmp_path, "app", "a", "b")
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
    bench, key = applied_release(cluster, namespace, tmp_path, "app", "a", "b")
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
    bench, key = applied_release(cluster, namespace, tmp_path, "app", "a")
    bench.chart("app", [])
    for same_commit in (False, True):
        report = bench.run(same_commit=same_commit).releases[key]
        assert "rendered no objects but had 1; prune withheld" in report.message
        assert exists(cluster, "-n", namespace, "cm", "a")
        assert recorded_names(cluster, namespace, "app") == ["a"]


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
        return manifests.workload(
            "StatefulSet",
            name,
            container="db",
            image="registry.invalid/db:1",
            serviceName=name,
            replicas=1,
            volumeClaimTemplates=[manifests.DATA_CLAIM],
        )

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


def confirm_removal(bench: Workbench, *keys: str) -> None:
    """A person confirms removals the way the docs say: harmonia.yaml's confirmRemoval."""
    (bench.root / "harmonia.yaml").write_text(
        REPOSITORY_FILE + "confirmRemoval: " + json.dumps(list(keys)) + "\n"
    )


def test_a_withheld_removal_stays_withheld_on_every_later_pass_until_harmonia_yaml_confirms_it(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    old = ("web", "cache", "kafka", "zookeeper")
    for name in old:
        bench.release(namespace, name, chartPath=bench.chart(name, [config_map(name)]))
    assert not bench.run().failed
    # One commit replaces all four by five new ConfigMap-only releases.
    for name in old:
        bench.remove_release(namespace, name)
    new = ("one", "two", "three", "four", "five")
    for name in new:
        bench.release(namespace, name, chartPath=bench.chart(name, [config_map(name)]))

    first = bench.run()
    assert first.prune_withheld is not None
    assert first.prune_withheld.startswith("the snapshot lost 4 of 4 releases (over 50%)")
    # The same commit again (the new releases now recorded), then a later commit.
    for later in (bench.run(same_commit=True), bench.run()):
        for report in (first, later):
            withheld = {
                key: entry.outcome
                for key, entry in report.releases.items()
                if entry.outcome is Outcome.REMOVAL_WITHHELD
            }
            assert withheld == dict.fromkeys(
                [f"{namespace}/{name}" for name in old], Outcome.REMOVAL_WITHHELD
            )
        assert later.prune_withheld is not None
        assert "until confirmRemoval in harmonia.yaml names them" in later.prune_withheld
        assert all(exists(cluster, "-n", namespace, "cm", name) for name in (*old, *new))
    message = later.releases[f"{namespace}/web"].message  # type: ignore[index]
    assert "the snapshot lost 4 of 4 releases" in message
    assert f"until confirmRemoval in harmonia.yaml names {namespace}/web" in message
    assert "the snapshot lost 4 of 4" in inventory(cluster, namespace, "web")["removal_withheld"]

    # Its file back: the release is applied again and its record loses the mark.
    bench.release(namespace, "zookeeper", chartPath="charts/zookeeper")
    back = bench.run().releases[f"{namespace}/zookeeper"]  # type: ignore[index]
    assert back.outcome in (Outcome.APPLIED, Outcome.UNCHANGED), back
    assert inventory(cluster, namespace, "zookeeper")["removal_withheld"] == ""

    confirm_removal(bench, f"{namespace}/web", f"{namespace}/cache")
    confirmed = bench.run()
    for name in ("web", "cache"):
        report = confirmed.releases[f"{namespace}/{name}"]  # type: ignore[index]
        assert report.outcome is Outcome.REMOVED
        assert "removal confirmed by confirmRemoval in harmonia.yaml" in report.message
        assert not exists(cluster, "-n", namespace, "cm", name)
        assert not exists(cluster, "-n", namespace, "cm", f"harmonia-inventory-{name}")
    kafka = confirmed.releases[f"{namespace}/kafka"]  # type: ignore[index]
    assert kafka.outcome is Outcome.REMOVAL_WITHHELD
    assert exists(cluster, "-n", namespace, "cm", "kafka")


def test_the_last_release_of_a_repository_is_removed_once_confirm_removal_names_it(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench, key = applied_release(cluster, namespace, tmp_path, "only", "only")
    bench.remove_release(namespace, "only")
    for same_commit in (False, True):
        report = bench.run(same_commit=same_commit)
        assert report.releases[key].outcome is Outcome.REMOVAL_WITHHELD
        assert exists(cluster, "-n", namespace, "cm", "only")
    # A dry run with the confirmation says what the pass will do, and does nothing.
    confirm_removal(bench, key)
    planned = bench.run(dry_run=True).releases[key]
    assert (planned.outcome, exists(cluster, "-n", namespace, "cm", "only")) == (
        Outcome.PLANNED,
        True,
    )
    removed = bench.run()
    assert removed.releases[key].outcome is Outcome.REMOVED
    assert removed.prune_withheld is None
    assert not exists(cluster, "-n", namespace, "cm", "only")


def test_objects_dropped_while_pruning_is_off_stay_in_the_record_and_a_later_pass_prunes_them(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench, key = applied_release(cluster, namespace, tmp_path, "app", "a", "b")
    bench.chart("app", [config_map("a")])
    # The pass without pruning (`--no-prune`) says what it keeps, and keeps it recorded.
    kept = bench.run(prune=False).releases[key]
    assert kept.changes is not None
    (b,) = [c for c in kept.changes.changes if c.ref.name == "b"]
    assert b.action.value == "skipped"
    assert exists(cluster, "-n", namespace, "cm", "b")
    assert recorded_names(cluster, namespace, "app") == ["a", "b"]
    quiet = bench.run(prune=False, same_commit=True).releases[key]
    assert quiet.outcome is Outcome.UNCHANGED, quiet

    pruned = bench.run().releases[key]
    assert pruned.changes is not None
    assert [str(c.ref) for c in pruned.changes.changes if c.action.value == "deleted"] == [
        f"ConfigMap/{namespace}/b"
    ]
    assert not exists(cluster, "-n", namespace, "cm", "b")
    assert recorded_names(cluster, namespace, "app") == ["a"]


def test_a_release_applied_alone_keeps_what_it_dropped_in_its_record_for_the_next_full_apply(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    bench.release(
        namespace, "app", chartPath=bench.chart("app", [config_map("a"), config_map("b")])
    )
    bench.release(namespace, "other", chartPath=bench.chart("other", [config_map("other")]))
    repo, source = str(bench.root), ("--source-id", bench.source)
    assert harmonia(cluster, "apply", repo, *source).returncode == 0
    bench.chart("app", [config_map("a")])

    alone = harmonia(cluster, "apply", repo, "-r", f"{namespace}/app", *source)
    assert alone.returncode == 0, alone.stderr
    assert exists(cluster, "-n", namespace, "cm", "b")
    assert recorded_names(cluster, namespace, "app") == ["a", "b"]

    full = harmonia(cluster, "apply", repo, *source)
    assert full.returncode == 0, full.stderr
    assert not exists(cluster, "-n", namespace, "cm", "b")
    assert recorded_names(cluster, namespace, "app") == ["a"]


def test_a_release_with_prune_false_keeps_dropped_objects_recorded_until_it_prunes_again(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart("app", [config_map("a"), config_map("b")])
    key = bench.release(namespace, "app", chartPath=chart, prune=False)
    bench.run()
    bench.chart("app", [config_map("a")])
    kept = bench.run().releases[key]
    assert kept.outcome is Outcome.UNCHANGED, kept
    assert exists(cluster, "-n", namespace, "cm", "b")
    assert recorded_names(cluster, namespace, "app") == ["a", "b"]
    diff = bench.run(dry_run=True).releases[key]
    assert diff.changes is not None and not diff.changes.has_changes, diff

    bench.release(namespace, "app", chartPath=chart, prune=True)
    bench.run()
    assert not exists(cluster, "-n", namespace, "cm", "b")
    assert recorded_names(cluster, namespace, "app") == ["a"]


def test_an_object_already_gone_when_it_leaves_the_render_changes_nothing(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench, key = applied_release(cluster, namespace, tmp_path, "app", "a", "b")
    cluster.kubectl("-n", namespace, "delete", "cm", "b")
    bench.chart("app", [config_map("a")])

    report = bench.run().releases[key]

    # The plan expected a deletion; the prune found nothing to delete.
    assert report.outcome is Outcome.UNCHANGED, report.describe()
    assert recorded_names(cluster, namespace, "app") == ["a"]
