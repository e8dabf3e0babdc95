"""Health of Pods, PVCs, Services, Ingresses, CRDs, objects with conditions, and objects
that are Ready by existing; deletion; dispatch by API group."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from reconciler.health import HealthContext, State, resource_health


def load(text: str) -> Any:
    return yaml.safe_load(text)


def test_a_bound_claim_is_ready_and_names_its_volume() -> None:
    claim = load("""
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: data-zookeeper-0, namespace: streaming}
    spec: {storageClassName: standard, volumeName: pvc-3f1c, accessModes: [ReadWriteOnce]}
    status: {phase: Bound, capacity: {storage: 1Gi}}
    """)
    health = resource_health(claim)
    assert (health.state, health.message) == (State.READY, "bound to pvc-3f1c")


def test_a_pending_claim_is_pvc_pending_and_a_lost_one_has_failed() -> None:
    claim = load("""
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata: {name: data, namespace: shop}
    spec: {storageClassName: fast-ssd}
    status: {phase: Pending}
    """)
    health = resource_health(claim)
    assert health.headline() == (
        "PersistentVolumeClaim shop/data is Pending: PvcPending "
        "(waiting for a volume of class fast-ssd)"
    )
    claim["status"]["phase"] = "Lost"
    claim["spec"]["volumeName"] = "pv-7"
    lost = resource_health(claim)
    assert (lost.state, lost.reason) == (State.FAILED, "PvcLost")


SERVICE = load("""
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: ClusterIP, clusterIP: 10.0.0.12, ports: [{port: 80}]}
status: {loadBalancer: {}}
""")


@pytest.mark.parametrize("kind", ["ClusterIP", "NodePort", "ExternalName"])
def test_services_that_need_no_address_are_ready(kind: str) -> None:
    assert resource_health({**SERVICE, "spec": {"type": kind}}).state is State.READY


def test_a_load_balancer_with_an_address_is_ready() -> None:
    service = {
        **SERVICE,
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
    }
    assert resource_health(service).message == "address 203.0.113.7"


def test_a_load_balancer_waits_for_an_address_within_the_timeout_then_fails() -> None:
    service = {**SERVICE, "spec": {"type": "LoadBalancer"}}
    waiting = resource_health(
        service, context=HealthContext(waited=timedelta(minutes=4), timeout=timedelta(minutes=5))
    )
    assert (waiting.state, waiting.reason) == (State.PENDING, "LoadBalancerPending")
    late = resource_health(
        service, context=HealthContext(waited=timedelta(minutes=6), timeout=timedelta(minutes=5))
    )
    assert (late.state, late.reason) == (State.FAILED, "LoadBalancerTimeout")
    assert late.message == (
        "no address within its timeout of 5m0s: does the cluster have a load balancer?"
    )


@pytest.mark.parametrize("api_version", ["networking.k8s.io/v1", "extensions/v1beta1"])
def test_an_ingress_is_ready_on_existence_and_shows_its_address(api_version: str) -> None:
    ingress = {
        "apiVersion": api_version,
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop"},
        "status": {"loadBalancer": {}},
    }
    waiting = resource_health(ingress, context=HealthContext(waited=timedelta(hours=1)))
    assert (waiting.state, waiting.message) == (State.READY, "no address assigned yet")
    ingress["status"] = {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}
    assert resource_health(ingress).message == "address lb.example.com"


CRD = load("""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com, generation: 1}
spec: {group: example.com, names: {kind: Widget, plural: widgets}, scope: Namespaced}
status:
  conditions:
  - {type: NamesAccepted, status: "True", reason: NoConflicts}
  - {type: Established, status: "True", reason: InitialNamesAccepted}
""")


def test_an_established_crd_is_ready_and_cluster_scoped() -> None:
    health = resource_health(CRD)
    assert (health.state, health.namespace, health.reference) == (
        State.READY,
        "",
        "widgets.example.com",
    )


@pytest.mark.parametrize(
    ("conditions", "state", "reason"),
    [
        ([], State.PENDING, "Installing"),
        (
            [{"type": "Established", "status": "False", "reason": "Installing"}],
            State.PENDING,
            "Installing",
        ),
        (
            [
                {
                    "type": "NamesAccepted",
                    "status": "False",
                    "reason": "MultipleNamesNotAllowed",
                    "message": "plural and singular must differ",
                }
            ],
            State.FAILED,
            "MultipleNamesNotAllowed",
        ),
        (
            [{"type": "Established", "status": "False", "reason": "NotAccepted"}],
            State.FAILED,
            "NotAccepted",
        ),
    ],
)
def test_a_crd_not_established_is_installing_or_failed(
    conditions: list[dict[str, str]], state: State, reason: str
) -> None:
    health = resource_health({**CRD, "status": {"conditions": conditions}})
    assert (health.state, health.reason) == (state, reason)


@pytest.mark.parametrize(
    "obj",
    [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n"},
            "data": {"a": "b"},
        },
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "reader"},
            "rules": [],
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "p", "namespace": "n", "generation": 1},
            "status": {"observedGeneration": 1, "currentHealthy": 2},
        },
    ],
)
def test_objects_without_a_health_signal_are_ready_by_existing(obj: dict[str, Any]) -> None:
    health = resource_health(obj)
    assert (health.state, health.reason, health.pods) == (State.READY, "", None)


def widget(status: dict[str, Any], generation: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "shop", "generation": generation},
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        ({"conditions": [{"type": "Ready", "status": "True"}]}, State.READY, ""),
        (
            {"conditions": [{"type": "Ready", "status": "False", "reason": "WaitingForDB"}]},
            State.PENDING,
            "WaitingForDB",
        ),
        ({"conditions": [{"type": "Ready", "status": "Unknown"}]}, State.PENDING, "NotReady"),
        (
            {
                "conditions": [
                    {"type": "Available", "status": "False", "reason": "FailedDiscoveryCheck"}
                ]
            },
            State.PENDING,
            "FailedDiscoveryCheck",
        ),
        ({"conditions": [{"type": "Available", "status": "True"}]}, State.READY, ""),
        (
            {"conditions": [{"type": "Stalled", "status": "True", "reason": "InvalidSpec"}]},
            State.FAILED,
            "InvalidSpec",
        ),
        (
            {"conditions": [{"type": "Reconciling", "status": "True", "reason": "Progressing"}]},
            State.PENDING,
            "Progressing",
        ),
        (
            {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]},
            State.PENDING,
            "GenerationNotObserved",
        ),
        (
            {"conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2}]},
            State.PENDING,
            "GenerationNotObserved",
        ),
        ({"observedGeneration": 3, "phase": "Whatever"}, State.READY, ""),
    ],
)
def test_other_objects_follow_their_generation_and_ready_or_available_conditions(
    status: dict[str, Any], state: State, reason: str
) -> None:
    health = resource_health(widget(status))
    assert (health.state, health.reason) == (state, reason)


def test_a_custom_kind_named_like_a_builtin_is_judged_by_its_conditions() -> None:
    lookalike = {
        "apiVersion": "example.com/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "shop"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert resource_health(lookalike).state is State.READY


def test_any_object_being_deleted_is_terminating_and_names_its_finalizers() -> None:
    doomed = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "data",
            "namespace": "shop",
            "deletionTimestamp": "2025-01-01T00:00:00Z",
            "finalizers": ["kubernetes.io/pvc-protection"],
        },
        "status": {"phase": "Bound"},
    }
    health = resource_health(doomed)
    assert health.headline() == (
        "PersistentVolumeClaim shop/data is Terminating "
        "(waiting for finalizers: kubernetes.io/pvc-protection)"
    )


def bare_pod(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": "shop"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c"}]},
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        (
            {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
            State.READY,
            "",
        ),
        ({"phase": "Succeeded"}, State.READY, ""),
        ({"phase": "Pending"}, State.PENDING, "PodPending"),
        ({"phase": "Running"}, State.PENDING, "PodRunning"),
        ({"phase": "Failed", "reason": "DeadlineExceeded"}, State.FAILED, "DeadlineExceeded"),
        ({"phase": "Unknown"}, State.PENDING, "PodUnknown"),
    ],
)
def test_a_pod_of_a_release_carries_its_own_state_and_lists_itself(
    status: dict[str, Any], state: State, reason: str
) -> None:
    health = resource_health(bare_pod(status))
    assert (health.state, health.reason) == (state, reason)
    assert [pod.name for pod in health.pods or ()] == ["probe"]
