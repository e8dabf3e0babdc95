"""Kafka on a ZooKeeper that already runs (WALM's first scenario): the dependency is
not in the repository; its outputs come from its inventory record in the cluster
(another repository applied it) or from the ReleaseConfig WALM keeps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reconciler.apply.records import read_inventory
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.status.live import read_statuses
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster

CHARTS = Path(__file__).parents[2] / "examples" / "charts"
WALM_RELEASE_CONFIG_CRD = manifests.crd(
    "apiextensions.transwarp.io", "ReleaseConfig", version="v1beta1"
)


def apply_as_walm(cluster: LiveCluster, obj: JsonObject) -> None:
    """Server-side apply `obj` as WALM's own field manager would."""
    cluster.kubectl(
        "apply", "--server-side", "--field-manager=walm", "-f", "-", stdin=json.dumps(obj)
    )


def install_walm_release_config_crd(cluster: LiveCluster) -> None:
    """WALM's ReleaseConfig CRD, applied as WALM's own field manager, and Established."""
    apply_as_walm(cluster, WALM_RELEASE_CONFIG_CRD)
    cluster.kubectl(
        "wait",
        "--for=condition=Established",
        "crd/releaseconfigs.apiextensions.transwarp.io",
        "--timeout=60s",
    )


def bench_with_chart(cluster: LiveCluster, folder: Path, chart: str) -> Workbench:
    bench = Workbench(cluster, folder / "repo", folder / "cache")
    shutil.copytree(CHARTS / chart, bench.root / "charts" / chart)
    return bench


def kafka_connect(cluster: LiveCluster, namespace: str) -> str:
    config = json.loads(cluster.kubectl("-n", namespace, "get", "cm", "kafka", "-o", "json").stdout)
    line = next(
        item
        for item in config["data"]["server.properties"].splitlines()
        if item.startswith("zookeeper.connect=")
    )
    return line.partition("=")[2]


def kafka_from_another_repository(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> tuple[Workbench, ReleaseKey, ReleaseKey, ReleaseReport]:
    """ZooKeeper applied (and ready) from one repository, then Kafka from a second that
    names it only as `namespace/zookeeper`: the second bench, both keys, Kafka's report."""
    platform = bench_with_chart(cluster, tmp_path / "platform", "zookeeper")
    zookeeper = platform.release(
        namespace, "zookeeper", chartPath="charts/zookeeper", configValues={"replicas": 2}
    )
    assert platform.run().releases[zookeeper].ready is True
    streaming = bench_with_chart(cluster, tmp_path / "streaming", "kafka")
    kafka = streaming.release(
        namespace,
        "kafka",
        chartPath="charts/kafka",
        configValues={"replicas": 1},
        dependencies={"zookeeper": f"{namespace}/zookeeper"},
    )
    return streaming, zookeeper, kafka, streaming.run().releases[kafka]


def test_kafka_takes_the_addresses_from_walms_release_config(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    install_walm_release_config_crd(cluster)
    release_config = {
        "apiVersion": "apiextensions.transwarp.io/v1beta1",
        "kind": "ReleaseConfig",
        "metadata": {"name": "zk", "namespace": namespace},
        "spec": {
            "outputConfig": {
                "zookeeper_addresses": "zk-0.walm:2181,zk-1.walm:2181",
                "zookeeper_port": 2181,
            }
        },
    }
    apply_as_walm(cluster, release_config)
    bench = bench_with_chart(cluster, tmp_path, "kafka")
    key = bench.release(
        namespace,
        "kafka",
        chartPath="charts/kafka",
        configValues={"replicas": 1},
        dependencies={"zookeeper": "zk"},
    )
    report = bench.run().releases[key]
    assert report.outcome is Outcome.APPLIED, report.message
    assert kafka_connect(cluster, namespace) == "zk-0.walm:2181,zk-1.walm:2181/kafka"


def test_kafka_takes_the_outputs_another_repository_recorded(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    _, _, _, report = kafka_from_another_repository(cluster, namespace, tmp_path)
    assert report.outcome is Outcome.APPLIED, report.message
    connect = kafka_connect(cluster, namespace)
    assert connect.count(f"zookeeper-hl.{namespace}.svc.cluster.local:2181") == 2


def test_an_external_dependency_with_no_outputs_blocks_only_its_dependent(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = bench_with_chart(cluster, tmp_path, "kafka")
    kafka = bench.release(
        namespace, "kafka", chartPath="charts/kafka", dependencies={"zookeeper": "nowhere"}
    )
    bystander = bench.release(
        namespace,
        "settings",
        chartPath=bench.chart(
            "settings",
            [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "settings"},
                    "data": {},
                }
            ],
        ),
    )
    report = bench.run()
    assert report.releases[kafka].outcome is Outcome.BLOCKED
    assert report.releases[kafka].message == (
        f"dependency {namespace}/nowhere is not in the repository and has published no outputs"
    )
    assert report.releases[bystander].outcome is Outcome.APPLIED


def test_the_outputs_read_from_another_repository_are_recorded_as_used(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    streaming, zookeeper, kafka, report = kafka_from_another_repository(
        cluster, namespace, tmp_path
    )
    assert report.outcome is Outcome.APPLIED

    with streaming.client() as client:
        published = read_inventory(client, zookeeper)
        statuses, problems = read_statuses(client, release=kafka)
    assert published is not None and published.outputs
    assert not problems
    used = {"zookeeper": {"release": zookeeper, "outputs": dict(published.outputs)}}
    assert statuses[0].record.dependency_outputs == used
    assert statuses[0].to_json()["dependencies"] == used
