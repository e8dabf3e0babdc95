"""Pods: each pod's state and reason, and which of the namespace's pods a workload owns."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from reconciler.health import HealthError, PodStatus, pod_state, select_pods


def load(text: str) -> Any:
    return yaml.safe_load(text)


RUNNING_READY = load("""
apiVersion: v1
kind: Pod
metadata: {name: web-5d8f-abcde, namespace: shop}
spec:
  nodeName: kwok-node-1
  containers: [{name: app, image: web:1}, {name: proxy, image: envoy:1}]
status:
  phase: Running
  conditions:
  - {type: PodScheduled, status: "True"}
  - {type: Initialized, status: "True"}
  - {type: ContainersReady, status: "True"}
  - {type: Ready, status: "True"}
  containerStatuses:
  - {name: app, ready: true, restartCount: 2, state: {running: {startedAt: "2025-01-01T00:00:00Z"}}}
  - {name: proxy, ready: true, restartCount: 1, state: {running: {}}}
""")

UNSCHEDULABLE = load("""
apiVersion: v1
kind: Pod
metadata: {name: web-5d8f-xyz12, namespace: shop}
spec:
  containers: [{name: app, image: web:1}]
  nodeSelector: {disktype: ssd}
status:
  phase: Pending
  conditions:
  - type: PodScheduled
    status: "False"
    reason: Unschedulable
    message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
""")

IMAGE_PULL_BACK_OFF = load("""
apiVersion: v1
kind: Pod
metadata: {name: web-5d8f-img01, namespace: shop}
spec:
  nodeName: node-2
  containers: [{name: app, image: registry.invalid/web:9}]
status:
  phase: Pending
  conditions:
  - {type: PodScheduled, status: "True"}
  - {type: Ready, status: "False", reason: ContainersNotReady}
  containerStatuses:
  - name: app
    ready: false
    restartCount: 0
    state:
      waiting:
        reason: ImagePullBackOff
        message: Back-off pulling image "registry.invalid/web:9"
""")

CRASH_LOOP = load("""
apiVersion: v1
kind: Pod
metadata: {name: web-5d8f-crash, namespace: shop}
spec:
  nodeName: node-1
  containers: [{name: app, image: web:1}]
status:
  phase: Running
  conditions:
  - type: Ready
    status: "False"
    reason: ContainersNotReady
    message: "containers with unready status: [app]"
  containerStatuses:
  - name: app
    ready: false
    restartCount: 7
    lastState: {terminated: {exitCode: 1, reason: Error}}
    state:
      waiting:
        reason: CrashLoopBackOff
        message: back-off 5m0s restarting failed container=app pod=web-5d8f-crash
""")


def test_a_running_ready_pod_is_ready_with_its_node_containers_and_restarts() -> None:
    pod = pod_state(RUNNING_READY)
    assert pod.state is PodStatus.READY
    assert (pod.name, pod.node, pod.phase) == ("web-5d8f-abcde", "kwok-node-1", "Running")
    assert (pod.ready, pod.restarts, pod.reason) == ("2/2", 3, "")


def test_an_unschedulable_pod_is_pending_with_the_schedulers_reason_and_message() -> None:
    pod = pod_state(UNSCHEDULABLE)
    assert pod.state is PodStatus.PENDING
    assert pod.reason == "Unschedulable"
    assert pod.message.startswith("0/3 nodes are available")
    assert (pod.node, pod.ready) == ("", "0/1")


def test_a_pod_that_cannot_pull_its_image_says_so_and_names_the_container() -> None:
    pod = pod_state(IMAGE_PULL_BACK_OFF)
    assert (pod.state, pod.reason) == (PodStatus.PENDING, "ImagePullBackOff")
    assert pod.message == 'container app: Back-off pulling image "registry.invalid/web:9"'


def test_a_crash_looping_pod_is_running_but_not_ready_with_the_crash_reason() -> None:
    pod = pod_state(CRASH_LOOP)
    assert (pod.state, pod.reason, pod.restarts) == (PodStatus.RUNNING, "CrashLoopBackOff", 7)
    assert pod.message.startswith("container app: back-off 5m0s")


def test_a_waiting_init_container_explains_a_pending_pod() -> None:
    pod = pod_state(
        load("""
        apiVersion: v1
        kind: Pod
        metadata: {name: db-0, namespace: data}
        spec: {nodeName: n, containers: [{name: db}], initContainers: [{name: migrate}]}
        status:
          phase: Pending
          conditions:
          - {type: PodScheduled, status: "True"}
          - {type: Initialized, status: "False", reason: ContainersNotInitialized}
          initContainerStatuses:
          - {name: migrate, ready: false, restartCount: 0,
             state: {waiting: {reason: PodInitializing}}}
          containerStatuses:
          - {name: db, ready: false, restartCount: 0, state: {waiting: {reason: PodInitializing}}}
        """)
    )
    assert (pod.reason, pod.message) == ("PodInitializing", "container migrate")


def test_a_running_pod_with_unready_containers_lists_them() -> None:
    pod = pod_state(
        load("""
        apiVersion: v1
        kind: Pod
        metadata: {name: web-1, namespace: shop}
        spec: {nodeName: n, containers: [{name: app}, {name: sidecar}]}
        status:
          phase: Running
          conditions: [{type: Ready, status: "False", reason: ContainersNotReady}]
          containerStatuses:
          - {name: app, ready: true, restartCount: 0, state: {running: {}}}
          - {name: sidecar, ready: false, restartCount: 0, state: {running: {}}}
        """)
    )
    assert (pod.state, pod.reason) == (PodStatus.RUNNING, "ContainersNotReady")
    assert (pod.message, pod.ready) == ("containers not ready: sidecar", "1/2")


def test_an_evicted_pod_is_failed_with_the_kubelets_reason() -> None:
    pod = pod_state(
        load("""
        apiVersion: v1
        kind: Pod
        metadata: {name: web-2, namespace: shop}
        spec: {nodeName: n, containers: [{name: app}]}
        status: {phase: Failed, reason: Evicted, message: "The node was low on resource: memory."}
        """)
    )
    assert (pod.state, pod.reason) == (PodStatus.FAILED, "Evicted")
    assert pod.message == "The node was low on resource: memory."


def test_a_failed_pod_without_a_reason_takes_its_failing_containers_exit() -> None:
    pod = pod_state(
        load("""
        apiVersion: v1
        kind: Pod
        metadata: {name: migrate-x7k2p, namespace: shop}
        spec: {nodeName: n, containers: [{name: migrate}]}
        status:
          phase: Failed
          containerStatuses:
          - {name: migrate, ready: false, restartCount: 0,
             state: {terminated: {exitCode: 3, reason: Error}}}
        """)
    )
    assert (pod.state, pod.reason, pod.message) == (
        PodStatus.FAILED,
        "Error",
        "container migrate: exit code 3",
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"metadata": {"name": "p", "deletionTimestamp": "2025-01-01T00:00:00Z"}}, "Terminating"),
        ({"status": {"phase": "Succeeded"}}, "Succeeded"),
        ({"status": {"phase": "Unknown", "reason": "NodeLost"}}, "Unknown"),
        ({"status": {}}, "Pending"),
    ],
)
def test_pod_phases_map_to_walms_pod_states(changes: dict[str, Any], expected: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, **changes}
    assert pod_state(pod).state == expected


def owned_by(
    name: str, kind: str, uid: str, labels: dict[str, str], namespace: str = "shop"
) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [{"kind": kind, "name": "x", "uid": uid, "controller": True}],
        },
    }


WEB = load("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: dep-web}
spec: {selector: {matchLabels: {app: web}}}
""")
REPLICA_SETS = [
    load("""
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata:
      name: web-5d8f
      namespace: shop
      uid: rs-web-new
      ownerReferences: [{kind: Deployment, name: web, uid: dep-web, controller: true}]
    """),
    load("""
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata:
      name: web-admin-77aa
      namespace: shop
      uid: rs-admin
      ownerReferences: [{kind: Deployment, name: web-admin, uid: dep-admin, controller: true}]
    """),
]
PODS = [
    owned_by("web-5d8f-b", "ReplicaSet", "rs-web-new", {"app": "web"}),
    owned_by("web-5d8f-a", "ReplicaSet", "rs-web-new", {"app": "web"}),
    # Another Deployment's pod with the same labels: ownership tells them apart.
    owned_by("web-admin-77aa-c", "ReplicaSet", "rs-admin", {"app": "web"}),
    owned_by("web-5d8f-z", "ReplicaSet", "rs-web-new", {"app": "web"}, namespace="other"),
]


def names(pods: Any) -> list[str]:
    return [pod["metadata"]["name"] for pod in pods]


def test_a_deployments_pods_are_found_through_its_replica_sets_sorted_by_name() -> None:
    assert names(select_pods(WEB, PODS, replica_sets=REPLICA_SETS)) == ["web-5d8f-a", "web-5d8f-b"]


def test_without_replica_sets_a_deployment_falls_back_to_its_label_selector() -> None:
    assert names(select_pods(WEB, PODS)) == ["web-5d8f-a", "web-5d8f-b", "web-admin-77aa-c"]


def test_a_statefulsets_pods_are_those_it_controls() -> None:
    zk = load("""
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: zk, namespace: shop, uid: sts-zk}
    spec: {selector: {matchLabels: {app: zk}}}
    """)
    pods = [
        owned_by("zk-0", "StatefulSet", "sts-zk", {"app": "zk"}),
        owned_by("zk-old-0", "StatefulSet", "sts-gone", {"app": "zk"}),
    ]
    assert names(select_pods(zk, pods)) == ["zk-0"]


@pytest.mark.parametrize(
    ("expression", "selected"),
    [
        ({"key": "tier", "operator": "In", "values": ["db", "cache"]}, ["cache-0", "db-0"]),
        ({"key": "tier", "operator": "NotIn", "values": ["db"]}, ["bare-0", "cache-0"]),
        ({"key": "tier", "operator": "Exists"}, ["cache-0", "db-0"]),
        ({"key": "tier", "operator": "DoesNotExist"}, ["bare-0"]),
    ],
)
def test_match_expressions_select_pods_when_ownership_cannot_be_followed(
    expression: dict[str, Any], selected: list[str]
) -> None:
    workload = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "s", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "s"}, "matchExpressions": [expression]}},
    }
    pods = [
        owned_by("db-0", "StatefulSet", "u", {"app": "s", "tier": "db"}),
        owned_by("cache-0", "StatefulSet", "u", {"app": "s", "tier": "cache"}),
        owned_by("bare-0", "StatefulSet", "u", {"app": "s"}),
        owned_by("stranger-0", "StatefulSet", "u", {"app": "t", "tier": "db"}),
    ]
    assert names(select_pods(workload, pods)) == selected


def test_a_workload_without_a_selector_or_uid_selects_no_pods() -> None:
    bare = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}}
    assert select_pods(bare, [owned_by("d-1", "DaemonSet", "u", {"app": "d"}, "")]) == ()


def test_an_unknown_selector_operator_is_a_clear_error() -> None:
    workload = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "s", "namespace": "shop"},
        "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
    }
    with pytest.raises(HealthError, match=r"StatefulSet shop/s: .*matchExpressions\[0\]: .*'Near'"):
        select_pods(workload, [owned_by("s-0", "StatefulSet", "u", {"a": "b"})])


def test_items_of_a_list_response_carry_no_kind_and_are_still_read() -> None:
    listed = [{k: v for k, v in pod.items() if k not in {"kind", "apiVersion"}} for pod in PODS]
    assert names(select_pods(WEB, listed, replica_sets=REPLICA_SETS)) == [
        "web-5d8f-a",
        "web-5d8f-b",
    ]
    unnamed_kind = {k: v for k, v in UNSCHEDULABLE.items() if k != "kind"}
    assert pod_state(unnamed_kind).reason == "Unschedulable"
