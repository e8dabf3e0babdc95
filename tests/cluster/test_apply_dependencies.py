"""WALM's scenarios on the real cluster: scaling ZooKeeper re-renders and re-applies
Kafka with the new addresses, Kafka's apply starting only after ZooKeeper is Ready
again; a ZooKeeper that never gets Ready blocks Kafka and nothing else."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from reconciler.diff.changeset import Action
from reconciler.reconcile import Outcome, PassOptions, reconcile
from reconciler.types import JsonObject, ReleaseKey
from tests.cluster.workbench import EXAMPLES_SOURCE, Workbench
from tests.conftest import LiveCluster

EXAMPLES = Path(__file__).parents[2] / "examples"
ZOOKEEPER = ReleaseKey("streaming/zookeeper")
KAFKA = ReleaseKey("streaming/kafka")


def examples_bench(cluster: LiveCluster, tmp_path: Path) -> Workbench:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    return Workbench(cluster, root, tmp_path / "cache", source=EXAMPLES_SOURCE)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} has no {old!r}"
    path.write_text(text.replace(old, new))


def test_scaling_zookeeper_reapplies_kafka_only_after_zookeeper_is_ready(
    cluster: LiveCluster, tmp_path: Path
) -> None:
    bench = examples_bench(cluster, tmp_path)
    first = bench.run()
    assert not first.failed, {k: r.message for k, r in first.releases.items()}
    assert first.releases[ZOOKEEPER].ready is True

    edit(bench.root / "releases" / "streaming" / "zookeeper.yaml", "replicas: 3", "replicas: 5")
    with bench.client() as client:
        state = bench.desired(client)
        started = datetime.now(UTC)
        report = reconcile(client, state, PassOptions("rev-scale", bench.source))
    zookeeper = report.releases[ZOOKEEPER]
    assert zookeeper.outcome is Outcome.APPLIED and zookeeper.ready is True
    assert zookeeper.seconds is not None
    # ZooKeeper's report (its wait for Ready included) came in no earlier than this.
    zookeeper_done = started + timedelta(seconds=zookeeper.seconds)
    kafka = report.releases[KAFKA]
    assert kafka.outcome is Outcome.APPLIED and kafka.ready is True
    assert kafka.changes is not None
    configured = {c.ref.kind for c in kafka.changes.changes if c.action is Action.CONFIGURED}
    assert configured == {"ConfigMap", "StatefulSet"}  # new addresses, and a roll via checksum

    statefulset = json.loads(
        cluster.kubectl("-n", "streaming", "get", "statefulset", "zookeeper", "-o", "json").stdout
    )
    assert statefulset["status"]["readyReplicas"] == 5
    config = json.loads(
        cluster.kubectl(
            "-n", "streaming", "get", "configmap", "kafka", "-o", "json", "--show-managed-fields"
        ).stdout
    )
    assert (
        config["data"]["server.properties"].count("zookeeper-hl.streaming.svc.cluster.local") == 5
    )
    # The server stamps each field manager's last write: Kafka's came after ZooKeeper was Ready.
    (harmonia_write,) = [
        m for m in config["metadata"]["managedFields"] if m["manager"] == "harmonia"
    ]
    written = datetime.fromisoformat(harmonia_write["time"].replace("Z", "+00:00"))
    assert written >= zookeeper_done.replace(microsecond=0)


def test_a_zookeeper_that_never_gets_ready_blocks_kafka_and_only_kafka(
    cluster: LiveCluster, tmp_path: Path
) -> None:
    bench = examples_bench(cluster, tmp_path)
    term = {"matchExpressions": [{"key": "no-such-label", "operator": "Exists"}]}
    affinity = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
    plugin = {"name": "NodeSelector", "args": {"nodeAffinity": affinity}}
    unschedulable = yaml.safe_dump({"timeoutSec": 8, "plugins": [plugin]})
    zookeeper_file = bench.root / "releases" / "streaming" / "zookeeper.yaml"
    zookeeper_file.write_text(
        zookeeper_file.read_text().replace("timeoutSec: 300\n", "") + unschedulable
    )
    report = bench.run()
    assert report.releases[ZOOKEEPER].outcome is Outcome.FAILED
    assert "StatefulSet streaming/zookeeper" in report.releases[ZOOKEEPER].message
    kafka = report.releases[KAFKA]
    assert kafka.outcome is Outcome.BLOCKED
    assert kafka.message.startswith("dependency streaming/zookeeper is Failed")
    for other in (ReleaseKey("shop/web"), ReleaseKey("shop/cache")):
        assert report.releases[other].ready is True


def deployment(name: str, **pod_spec: object) -> JsonObject:
    labels = {"app": name}
    container = {"name": "app", "image": f"registry.invalid/{name}:1"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], **pod_spec},
            },
        },
    }


def test_a_release_that_never_gets_ready_holds_back_its_dependents_and_nobody_else(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    timeout = 20
    nowhere = {"nodeSelector": {"harmonia.dev/no-such-node": "true"}}
    stuck = bench.release(
        namespace,
        "stuck",
        chartPath=bench.chart("stuck", [deployment("stuck", **nowhere)]),
        timeoutSec=timeout,
    )
    follower = bench.release(
        namespace,
        "follower",
        chartPath=bench.chart("follower", [deployment("follower")]),
        dependencies={"stuck": "stuck"},
    )
    steady = bench.release(
        namespace, "steady", chartPath=bench.chart("steady", [deployment("steady")])
    )
    report = bench.run()

    assert report.releases[stuck].outcome is Outcome.FAILED
    assert report.releases[follower].outcome is Outcome.BLOCKED
    assert report.releases[steady].outcome is Outcome.APPLIED
    assert report.releases[steady].ready is True
    # Both started together; the steady one was reported before the stuck one's timeout
    # could have run out, which the stuck one waited for in full.
    stuck_seconds, steady_seconds = (report.releases[k].seconds for k in (stuck, steady))
    assert stuck_seconds is not None and steady_seconds is not None
    assert steady_seconds < timeout <= stuck_seconds
