"""Health computed from objects read back from the real dev cluster: workloads converge to
Ready through the real controllers and KWOK, an unschedulable pod is named with the
scheduler's reason, a partitioned rollout is Ready once its ordinals are updated."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from kubernetes import client

from reconciler.health import (
    HealthContext,
    ReleaseHealth,
    ReleaseState,
    ResourceState,
    State,
    release_health,
    resource_health,
)
from tests import manifests
from tests.conftest import LiveCluster
from tests.waiting import wait_for


def raw(call: Callable[..., Any], *args: str) -> Any:
    """The API server's JSON, untouched by the client's models (what the kube layer sees)."""
    return json.loads(call(*args, _preload_content=False).data)


class Namespace:
    """Reads one namespace's objects the way the waiter does: each object, plus the pods,
    ReplicaSets and Jobs listed once per round."""

    def __init__(self, cluster: LiveCluster, name: str) -> None:
        api = cluster.api()
        self.name = name
        self.apps, self.core = client.AppsV1Api(api), client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.cluster = cluster

    def apply(self, manifest: dict[str, Any]) -> None:
        self.cluster.kubectl(
            "apply",
            "--server-side",
            f"--namespace={self.name}",
            "-f",
            "-",
            stdin=json.dumps(manifest),
        )

    def context(self, **settings: Any) -> HealthContext:
        return HealthContext(
            pods=tuple(raw(self.core.list_namespaced_pod, self.name)["items"]),
            replica_sets=tuple(raw(self.apps.list_namespaced_replica_set, self.name)["items"]),
            jobs=tuple(raw(self.batch.list_namespaced_job, self.name)["items"]),
            **settings,
        )

    def read(self, kind: str, name: str) -> Any:
        readers: dict[str, Callable[..., Any]] = {
            "Deployment": self.apps.read_namespaced_deployment,
            "StatefulSet": self.apps.read_namespaced_stateful_set,
            "Job": self.batch.read_namespaced_job,
            "Service": self.core.read_namespaced_service,
            "PersistentVolumeClaim": self.core.read_namespaced_persistent_volume_claim,
        }
        return raw(readers[kind], name, self.name)

    def health(self, kind: str, name: str, **settings: Any) -> ResourceState:
        return resource_health(self.read(kind, name), context=self.context(**settings))


def deployment(name: str, replicas: int, **spec: Any) -> dict[str, Any]:
    return manifests.workload("Deployment", name, pod=spec, replicas=replicas)


def stateful_set(name: str, replicas: int, *, partition: int = 0, image: str = "app:1") -> Any:
    body: Any = manifests.workload(
        "StatefulSet",
        name,
        image=f"registry.invalid/{image}",
        replicas=replicas,
        serviceName=name,
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": partition}},
        volumeClaimTemplates=[manifests.DATA_CLAIM],
    )
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    return body


def until_state(state: State) -> Callable[[ResourceState], bool]:
    return lambda health: health.state is state


def test_a_deployment_converges_to_ready_with_its_pods_on_kwok_nodes(
    cluster: LiveCluster, namespace: str
) -> None:
    ns = Namespace(cluster, namespace)
    ns.apply(deployment("web", 2))
    health = wait_for(
        lambda: ns.health("Deployment", "web"),
        until=until_state(State.READY),
        what="Deployment web to be Ready",
    )
    assert health.message == "2/2 available"
    pods = health.pods or ()
    assert len(pods) == 2
    assert {(pod.state, pod.ready, pod.phase) for pod in pods} == {("Ready", "1/1", "Running")}
    assert all(pod.node and pod.name.startswith("web-") for pod in pods)


def test_a_deployment_whose_pods_cannot_schedule_is_pending_naming_the_pod(
    cluster: LiveCluster, namespace: str
) -> None:
    ns = Namespace(cluster, namespace)
    ns.apply(deployment("picky", 1, nodeSelector={"harmonia.dev/no-such-node": "true"}))
    health = wait_for(
        lambda: ns.health("Deployment", "picky"),
        until=lambda h: h.reason == "Unschedulable" and h.message.startswith("0 of 1 updated"),
        what="Deployment picky to report its unschedulable pod",
    )
    assert health.state is State.PENDING
    (pod,) = health.pods or ()
    assert (pod.state, pod.reason, pod.node) == ("Pending", "Unschedulable", "")
    release = release_health([health], since_change=timedelta(seconds=30))
    assert release.state is ReleaseState.PROGRESSING
    assert release.message.startswith(
        f"Deployment {namespace}/picky is Pending: Unschedulable (0 of 1 updated replicas "
        f"available; pod {pod.name} is Pending: 0/3 nodes are available: "
    )
    assert "didn't match Pod's node affinity/selector" in release.message


def test_a_statefulset_with_a_claim_converges_to_ready_and_its_claims_bind(
    cluster: LiveCluster, namespace: str
) -> None:
    ns = Namespace(cluster, namespace)
    ns.apply(stateful_set("zookeeper", 2))

    def release() -> ReleaseHealth:
        resources = [ns.health("StatefulSet", "zookeeper")]
        claims = raw(ns.core.list_namespaced_persistent_volume_claim, namespace)["items"]
        resources += [resource_health({"kind": "PersistentVolumeClaim", **c}) for c in claims]
        return release_health(resources)

    health = wait_for(
        release,
        until=lambda h: h.ready and len(h.resources) == 3,
        what="the zookeeper StatefulSet and its claims to be Ready",
    )
    assert health.message == "all 3 resources are Ready"
    claims = [r for r in health.resources if r.kind == "PersistentVolumeClaim"]
    assert [c.name for c in claims] == ["data-zookeeper-0", "data-zookeeper-1"]
    assert all(c.message.startswith("bound to pvc-") for c in claims)
    (sts,) = [r for r in health.resources if r.kind == "StatefulSet"]
    assert [pod.name for pod in sts.pods or ()] == ["zookeeper-0", "zookeeper-1"]


def test_a_partitioned_rollout_is_ready_once_the_ordinals_above_the_partition_update(
    cluster: LiveCluster, namespace: str
) -> None:
    ns = Namespace(cluster, namespace)
    ns.apply(stateful_set("zk", 3, partition=2))
    wait_for(
        lambda: ns.health("StatefulSet", "zk"),
        until=until_state(State.READY),
        what="StatefulSet zk to be Ready at its first revision",
    )
    ns.apply(stateful_set("zk", 3, partition=2, image="app:2"))
    health = wait_for(
        lambda: ns.health("StatefulSet", "zk"),
        until=lambda h: h.state is State.READY and "below it" in h.message,
        what="StatefulSet zk to finish its partitioned rollout",
    )
    live = ns.read("StatefulSet", "zk")["status"]
    assert live["currentRevision"] != live["updateRevision"]
    assert live["updatedReplicas"] == 1
    revisions = {
        pod["metadata"]["name"]: pod["metadata"]["labels"]["controller-revision-hash"]
        for pod in ns.context().pods or ()
    }
    assert revisions["zk-2"] == live["updateRevision"]
    assert revisions["zk-0"] == revisions["zk-1"] == live["currentRevision"]
    assert health.message.endswith(f"from ordinal 2; below it {live['currentRevision']}")


def test_a_job_runs_to_completion_through_kwok_and_is_ready(
    cluster: LiveCluster, namespace: str
) -> None:
    ns = Namespace(cluster, namespace)
    template = manifests.pod_template({"app": "migrate"}, restartPolicy="Never")
    ns.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate"},
            "spec": {"backoffLimit": 0, "template": template},
        }
    )
    health = wait_for(
        lambda: ns.health("Job", "migrate"),
        until=until_state(State.READY),
        what="Job migrate to complete",
    )
    assert health.message == "1/1 succeeded"
    assert [pod.state for pod in health.pods or ()] == ["Succeeded"]


@pytest.mark.parametrize("waited", [timedelta(seconds=1), timedelta(minutes=10)])
def test_a_load_balancer_nothing_serves_waits_and_then_fails_with_a_timeout_reason(
    cluster: LiveCluster, namespace: str, waited: timedelta
) -> None:
    ns = Namespace(cluster, namespace)
    ns.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "public"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
    )
    health = ns.health("Service", "public", waited=waited, timeout=timedelta(minutes=5))
    expected = (
        (State.PENDING, "LoadBalancerPending")
        if waited < timedelta(minutes=5)
        else (State.FAILED, "LoadBalancerTimeout")
    )
    assert (health.state, health.reason) == expected
