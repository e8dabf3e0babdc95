"""A pass over one shard's releases (`harmonia run --shards`), on the real dev cluster: only
the releases the shard owns are applied, reported and removed; another shard's are left
to their owner, even once their files leave Git, and a share that shrinks removes nothing."""

from __future__ import annotations

from pathlib import Path

from reconciler.outcome import Outcome
from reconciler.types import JsonObject, ReleaseKey
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def settings(name: str) -> list[JsonObject]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}]


def configmap_exists(cluster: LiveCluster, namespace: str, name: str) -> bool:
    found = cluster.kubectl("-n", namespace, "get", "configmap", name, check=False)
    return found.returncode == 0


def test_a_shard_applies_reports_and_removes_only_its_own_releases(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    names = ("a", "b", "c", "d")
    keys = {
        name: bench.release(namespace, name, chartPath=bench.chart(name, settings(name)))
        for name in names
    }
    mine = {keys["a"], keys["c"], keys["d"]}

    def owns(key: ReleaseKey) -> bool:
        return key in mine

    first = bench.run(owns=owns, applied_by="shard-1")
    assert set(first.releases) == mine
    assert not configmap_exists(cluster, namespace, "b")
    assert bench.run().releases[keys["b"]].outcome is Outcome.APPLIED  # its owner's pass

    bench.remove_release(namespace, "a")
    bench.remove_release(namespace, "b")
    second = bench.run(owns=owns, applied_by="shard-1")

    assert set(second.releases) == mine
    assert second.releases[keys["a"]].outcome is Outcome.REMOVED
    assert not configmap_exists(cluster, namespace, "a")
    assert configmap_exists(cluster, namespace, "b")


def test_a_shard_whose_share_shrinks_as_a_replica_joins_removes_nothing_and_keeps_its_guard(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    # The releases that moved to the newcomer are still in Git: they are another
    # replica's now, not releases whose files left, whatever the shrink guard's count.
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    keys = {
        name: bench.release(namespace, name, chartPath=bench.chart(name, settings(name)))
        for name in ("a", "b", "c", "d")
    }
    first = bench.run(applied_by="shard-1", prune=True)
    assert {report.outcome for report in first.releases.values()} == {Outcome.APPLIED}

    kept = {keys["a"]}
    shrunk = bench.run(owns=lambda key: key in kept, applied_by="shard-1", prune=True)

    assert set(shrunk.releases) == kept
    assert shrunk.prune_withheld is None
    assert all(configmap_exists(cluster, namespace, name) for name in keys)
