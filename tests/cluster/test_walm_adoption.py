"""Moving a running WALM installation to Harmonia: a release WALM (through Helm) installed
is adopted without restarting its pods, its dependency outputs come from WALM's
ReleaseConfig, and an older chart's dummy Service serves outputs to external dependents.

WALM is simulated as it left the cluster: objects created by the field manager `helm`
(by update or by server-side apply) with Helm's labels and annotations, and WALM's
ReleaseConfig objects. The charts are WALM-layout charts written for the tests.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.policy import Policy
from reconciler.reconcile import Outcome
from reconciler.render.ownership import OWNER_ANNOTATION, ownership_labels
from reconciler.types import JsonObject, ReleaseKey
from tests.cluster.test_external_dependencies import (
    apply_as_walm,
    install_walm_release_config_crd,
)
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.waiting import wait_for
from tests.walm_charts import write_kafka_chart

ZOOKEEPER_OUTPUTS = {
    "zookeeper_addresses": "zk-zookeeper-0.walm.pod:2181,zk-zookeeper-1.walm.pod:2181",
    "zookeeper_port": "2181",
}
HELM_MANAGED_BY = {"app.kubernetes.io/managed-by": "Helm"}


def walm_release_config(
    namespace: str, name: str, outputs: JsonObject, *, chart: str, version: str
) -> JsonObject:
    """A ReleaseConfig as WALM keeps one for each release it installed."""
    return {
        "apiVersion": "apiextensions.transwarp.io/v1beta1",
        "kind": "ReleaseConfig",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "chartName": chart,
            "chartVersion": version,
            "chartAppVersion": "6.1",
            "configValues": {},
            "dependencies": {},
            "outputConfig": outputs,
        },
    }


def as_helm_left_it(obj: JsonObject, release: ReleaseKey) -> JsonObject:
    """`obj` as rendered, without Harmonia's ownership and with Helm's."""
    namespace, name = release.split("/")
    found: Any = copy.deepcopy(obj)
    metadata = found["metadata"]
    for label in ownership_labels(release):
        metadata["labels"].pop(label)
    metadata["labels"].update(HELM_MANAGED_BY)
    metadata["annotations"].pop(OWNER_ANNOTATION)
    metadata["annotations"].update(
        {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": namespace}
    )
    return found  # type: ignore[no-any-return]


def create_as_helm(cluster: LiveCluster, objects: list[JsonObject], how: str) -> None:
    documents = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    if how == "update":
        cluster.kubectl("create", "--field-manager=helm", "-f", "-", stdin=documents)
    else:
        cluster.kubectl(
            "apply", "--server-side", "--field-manager=helm", "-f", "-", stdin=documents
        )


def get(cluster: LiveCluster, namespace: str, *what: str) -> Any:
    return json.loads(cluster.kubectl("-n", namespace, "get", *what, "-o", "json").stdout)


def rollout_state(cluster: LiveCluster, namespace: str) -> dict[str, Any]:
    """What changes when pods restart: the Deployment's ReplicaSets (one per pod template
    hash) and the pods themselves."""
    replica_sets = get(cluster, namespace, "replicasets")["items"]
    pods = get(cluster, namespace, "pods")["items"]
    return {
        "template hashes": sorted(
            rs["metadata"]["labels"]["pod-template-hash"] for rs in replica_sets
        ),
        "replica sets": sorted(rs["metadata"]["uid"] for rs in replica_sets),
        "pods": sorted(pod["metadata"]["uid"] for pod in pods),
    }


def generation(cluster: LiveCluster, namespace: str) -> int:
    return int(get(cluster, namespace, "deployment", "kafka-kafka")["metadata"]["generation"])


def kafka_env(cluster: LiveCluster, namespace: str) -> dict[str, str]:
    deployment = get(cluster, namespace, "deployment", "kafka-kafka")
    env = deployment["spec"]["template"]["spec"]["containers"][0].get("env") or []
    return {item["name"]: item["value"] for item in env}


def kafka_bench(cluster: LiveCluster, folder: Path, namespace: str, **fields: Any) -> Workbench:
    bench = Workbench(cluster, folder / "repo", folder / "cache")
    write_kafka_chart(bench.root / "charts" / "kafka")
    bench.release(namespace, "kafka", chartPath="charts/kafka", **fields)
    return bench


@pytest.mark.parametrize("how", ["update", "server-side apply"])
def test_a_release_walm_installed_is_adopted_without_restarting_its_pods(
    cluster: LiveCluster, namespace: str, tmp_path: Path, how: str
) -> None:
    install_walm_release_config_crd(cluster)
    zookeeper = walm_release_config(
        namespace, "zk", ZOOKEEPER_OUTPUTS, chart="zookeeper", version="6.1.0"
    )
    apply_as_walm(cluster, zookeeper)
    bench = kafka_bench(cluster, tmp_path, namespace, adopt=True, dependencies={"zookeeper": "zk"})
    kafka = ReleaseKey(f"{namespace}/kafka")
    with bench.client() as client:
        rendered = bench.desired(client).render.rendered[kafka]
    assert not rendered.warnings, rendered.warnings
    # What WALM installed: the same chart with the same inputs, by Helm, with its records.
    walm_records = walm_release_config(
        namespace, "kafka", dict(rendered.outputs), chart="kafka", version="6.1.0"
    )
    create_as_helm(
        cluster, [*(as_helm_left_it(o, kafka) for o in rendered.objects), walm_records], how
    )
    before = wait_for(
        lambda: rollout_state(cluster, namespace),
        until=lambda state: len(state["pods"]) == 1 and len(state["replica sets"]) == 1,
        what="WALM's kafka pod",
    )

    walm_generation = generation(cluster, namespace)

    report = bench.run().releases[kafka]
    assert report.outcome is Outcome.APPLIED, report.message
    assert report.ready is True
    assert rollout_state(cluster, namespace) == before, "no pod was restarted"
    # Kubernetes counts a new annotation on a Deployment as a new generation (it copies
    # them to the ReplicaSet): Harmonia's owner annotation makes one, the spec none.
    assert generation(cluster, namespace) == walm_generation + 1
    adopted_generation = generation(cluster, namespace)
    deployment = get(cluster, namespace, "deployment", "kafka-kafka")
    labels, annotations = deployment["metadata"]["labels"], deployment["metadata"]["annotations"]
    assert labels["app.kubernetes.io/managed-by"] == "harmonia"
    assert annotations[OWNER_ANNOTATION] == str(kafka)
    assert kafka_env(cluster, namespace) == {
        "ZOOKEEPER_CONNECT": ZOOKEEPER_OUTPUTS["zookeeper_addresses"],
        "KAFKA_LOG_DIRS": "/var/lib/kafka",
    }
    properties = get(cluster, namespace, "configmap", "kafka-kafka")["data"]["server.properties"]
    assert f"zookeeper.connect={ZOOKEEPER_OUTPUTS['zookeeper_addresses']}/kafka" in properties
    # WALM's own record of the release is not Harmonia's: left as it was.
    assert get(cluster, namespace, "releaseconfigs.apiextensions.transwarp.io", "kafka")

    again = bench.run().releases[kafka]
    assert again.outcome is Outcome.UNCHANGED, again.message
    assert rollout_state(cluster, namespace) == before
    assert generation(cluster, namespace) == adopted_generation

    # Helm's claims on what Harmonia applies were handed over: what leaves the chart
    # leaves the cluster.
    bench.release(
        namespace,
        "kafka",
        chartPath="charts/kafka",
        adopt=True,
        dependencies={"zookeeper": "zk"},
        configValues={"kafka": {"extraEnv": []}},
    )
    assert bench.run().releases[kafka].outcome is Outcome.APPLIED
    assert kafka_env(cluster, namespace) == {
        "ZOOKEEPER_CONNECT": ZOOKEEPER_OUTPUTS["zookeeper_addresses"]
    }


def test_kafka_reads_an_external_zookeepers_outputs_from_walms_dummy_service(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    provides = {"provides": {"ZOOKEEPER_CLIENT_CONFIG": {"immediate_value": ZOOKEEPER_OUTPUTS}}}
    dummy = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "dummy-zk-old",
            "namespace": namespace,
            "labels": {
                "transwarp.meta": "true",
                "transwarp.install": "x1y2z",
                "release": "zk-old",
                "chart": "zookeeper",
            },
            "annotations": {"transwarp.meta": json.dumps(provides)},
        },
        "spec": {"clusterIP": "None", "ports": [{"name": "dummy", "port": 5000}], "selector": {}},
    }
    create_as_helm(cluster, [dummy], "update")
    bench = kafka_bench(cluster, tmp_path, namespace, dependencies={"zookeeper": "zk-old"})
    kafka = ReleaseKey(f"{namespace}/kafka")
    report = bench.run().releases[kafka]
    assert report.outcome is Outcome.APPLIED, report.message
    properties = get(cluster, namespace, "configmap", "kafka-kafka")["data"]["server.properties"]
    assert f"zookeeper.connect={ZOOKEEPER_OUTPUTS['zookeeper_addresses']}/kafka" in properties


def test_a_walm_dependency_of_another_chart_version_fails_only_under_strict_dependencies(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    install_walm_release_config_crd(cluster)
    zookeeper = walm_release_config(
        namespace, "zk", ZOOKEEPER_OUTPUTS, chart="zookeeper", version="7.0.0"
    )
    apply_as_walm(cluster, zookeeper)
    bench = kafka_bench(cluster, tmp_path, namespace, dependencies={"zookeeper": "zk"})
    kafka = ReleaseKey(f"{namespace}/kafka")
    bench.policy = Policy(allowed_namespaces=("*",), strict_dependencies=True)
    strict = bench.run(dry_run=True).releases[kafka]
    assert strict.outcome is Outcome.FAILED
    assert "its chart zookeeper 7.0.0 is outside [6.0, 6.2]" in strict.message

    bench.policy = Policy(allowed_namespaces=("*",))
    with bench.client() as client:
        rendered = bench.desired(client).render.rendered[kafka]
    assert rendered.warnings == (
        f"release {kafka}: dependency 'zookeeper' ({namespace}/zk): its chart zookeeper "
        "7.0.0 is outside [6.0, 6.2], the versions chart kafka's metainfo declares",
    )
    assert bench.run().releases[kafka].outcome is Outcome.APPLIED


def test_a_takeover_a_pass_left_unfinished_is_finished_by_the_next_pass(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    install_walm_release_config_crd(cluster)
    zookeeper = walm_release_config(
        namespace, "zk", ZOOKEEPER_OUTPUTS, chart="zookeeper", version="6.1.0"
    )
    apply_as_walm(cluster, zookeeper)
    bench = kafka_bench(cluster, tmp_path, namespace, dependencies={"zookeeper": "zk"})
    kafka = ReleaseKey(f"{namespace}/kafka")
    with bench.client() as client:
        rendered = bench.desired(client).render.rendered[kafka]
    # The adopting write happened (Harmonia applied with force over Helm's objects), but
    # the pass stopped before the hand-over and before recording the inventory.
    create_as_helm(cluster, [as_helm_left_it(o, kafka) for o in rendered.objects], "update")
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=harmonia",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(rendered.objects)}),
    )

    assert bench.run().releases[kafka].outcome is Outcome.APPLIED
    deployment = json.loads(
        cluster.kubectl(
            "-n",
            namespace,
            "get",
            "deployment",
            "kafka-kafka",
            "-o",
            "json",
            "--show-managed-fields",
        ).stdout
    )
    helm_claims = json.dumps(
        [e["fieldsV1"] for e in deployment["metadata"]["managedFields"] if e["manager"] == "helm"]
    )
    assert "ZOOKEEPER_CONNECT" not in helm_claims
    assert '"f:image":' not in helm_claims
