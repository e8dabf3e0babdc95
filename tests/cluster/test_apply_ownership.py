"""Drift and field ownership against the real API server: hand edits are corrected,
fields other managers own are left alone, another applier's fields are a reported
conflict unless the release forces, and objects Harmonia did not create are adopted
only when asked."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.diff.changeset import Action
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject
from tests import manifests
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.waiting import wait_for


def deployment(**spec: object) -> JsonObject:
    image = "registry.invalid/web:1"
    return manifests.workload("Deployment", "web", container="web", image=image, **spec)


def config_map(mode: str = "fast") -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"mode": mode},
    }


def bench_for(cluster: LiveCluster, tmp_path: Path) -> Workbench:
    return Workbench(cluster, tmp_path / "repo", tmp_path / "cache")


def test_a_hand_edit_shows_as_drift_and_the_next_apply_corrects_it(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = bench_for(cluster, tmp_path)
    key = bench.release(namespace, "app", chartPath=bench.chart("app", [config_map()]))
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    cluster.kubectl(
        "-n",
        namespace,
        "patch",
        "configmap",
        "settings",
        "--type=merge",
        "-p",
        json.dumps({"data": {"mode": "slow"}}),
    )

    diff = bench.run(dry_run=True).releases[key].changes
    assert diff is not None
    (change,) = [c for c in diff.changes if c.is_change]
    assert (change.action, change.changed_paths) == (Action.CONFIGURED, ("/data/mode",))

    corrected = bench.run().releases[key]
    assert corrected.outcome is Outcome.APPLIED
    assert "drift corrected: ConfigMap/" in corrected.message
    live = json.loads(
        cluster.kubectl("-n", namespace, "get", "configmap", "settings", "-o", "json").stdout
    )
    assert live["data"] == {"mode": "fast"}


def test_replicas_owned_by_another_manager_are_not_fought_over(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = bench_for(cluster, tmp_path)
    key = bench.release(namespace, "app", chartPath=bench.chart("app", [deployment()]))
    bench.run()
    # An autoscaler at work: another manager applies the replicas Git leaves out.
    scale = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": 4},
    }
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=autoscaler", "-f", "-", stdin=json.dumps(scale)
    )
    diff = bench.run(dry_run=True).releases[key].changes
    assert diff is not None and not diff.has_changes
    assert bench.run().releases[key].outcome is Outcome.UNCHANGED
    live = json.loads(cluster.kubectl("-n", namespace, "get", "deploy", "web", "-o", "json").stdout)
    assert live["spec"]["replicas"] == 4


def test_another_appliers_field_is_a_reported_conflict_until_the_release_forces(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = bench_for(cluster, tmp_path)
    chart = bench.chart("app", [config_map()])
    key = bench.release(namespace, "app", chartPath=chart)
    bench.run()
    rival = config_map("rival")
    rival["metadata"]["namespace"] = namespace  # type: ignore[index]
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=other-tool",
        "-f",
        "-",
        stdin=json.dumps(rival),
    )

    refused = bench.run().releases[key]
    assert refused.outcome is Outcome.FAILED
    assert ".data.mode is owned by other-tool" in refused.message
    assert "set `force: true`" in refused.message

    bench.release(namespace, "app", chartPath=chart, force=True)
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    live = json.loads(
        cluster.kubectl("-n", namespace, "get", "cm", "settings", "-o", "json").stdout
    )
    assert live["data"] == {"mode": "fast"}


def test_an_object_created_by_kubectl_is_adopted_only_with_adopt(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    existing = deployment(replicas=2)
    existing["metadata"]["namespace"] = namespace  # type: ignore[index]
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(existing))
    bench = bench_for(cluster, tmp_path)
    chart = bench.chart("app", [deployment(replicas=2)])
    key = bench.release(namespace, "app", chartPath=chart)

    refused = bench.run().releases[key]
    assert refused.outcome is Outcome.FAILED
    assert "was not created by Harmonia; set `adopt: true`" in refused.message

    def replica_sets() -> list[str]:
        listed = cluster.kubectl("-n", namespace, "get", "replicasets", "-o", "name").stdout
        return sorted(listed.split())

    before = wait_for(replica_sets, until=lambda found: len(found) == 1, what="the ReplicaSet")
    bench.release(namespace, "app", chartPath=chart, adopt=True)
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    after = json.loads(
        cluster.kubectl("-n", namespace, "get", "deploy", "web", "-o", "json").stdout
    )
    assert after["metadata"]["labels"]["harmonia.dev/release-name"] == "app"
    # The pod template did not change: no new ReplicaSet, so no pod was restarted.
    assert replica_sets() == before


def test_another_releases_object_is_never_taken(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = bench_for(cluster, tmp_path)
    first = bench.release(namespace, "first", chartPath=bench.chart("first", [config_map()]))
    second = bench.release(
        namespace, "second", chartPath=bench.chart("second", [config_map("x")]), adopt=True
    )
    report = bench.run()
    assert report.releases[first].outcome is Outcome.APPLIED
    assert report.releases[second].outcome is Outcome.FAILED
    assert f"belongs to release {namespace}/first" in report.releases[second].message


def test_an_immutable_field_is_recreated_only_with_force(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    def job(image: str) -> JsonObject:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "run", "image": image}],
                    }
                }
            },
        }

    bench = bench_for(cluster, tmp_path)
    key = bench.release(
        namespace, "app", chartPath=bench.chart("app", [job("registry.invalid/a:1")])
    )
    bench.run()
    first_uid = json.loads(
        cluster.kubectl("-n", namespace, "get", "job", "once", "-o", "json").stdout
    )["metadata"]["uid"]
    chart = bench.chart("app", [job("registry.invalid/a:2")])
    refused = bench.run().releases[key]
    assert refused.outcome is Outcome.FAILED
    assert "field is immutable" in refused.message
    assert "set `force: true` to delete and recreate it" in refused.message

    bench.release(namespace, "app", chartPath=chart, force=True)
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    recreated = json.loads(
        cluster.kubectl("-n", namespace, "get", "job", "once", "-o", "json").stdout
    )
    assert recreated["metadata"]["uid"] != first_uid
    assert recreated["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.invalid/a:2"
