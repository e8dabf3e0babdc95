"""`OwnedIndex`: each release's health context holds only what its own objects own."""

from __future__ import annotations

from reconciler.health import resource_health
from reconciler.health.owners import OwnedIndex
from reconciler.types import JsonObject


def owned_by(kind: str, name: str, uid: str, owner_uid: str) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": uid,
            "ownerReferences": [{"uid": owner_uid, "controller": True, "kind": "X", "name": "x"}],
        },
    }


def deployment(name: str, uid: str) -> JsonObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "uid": uid, "generation": 1},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}},
        "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1},
    }


INDEX = OwnedIndex.of(
    pods=[owned_by("Pod", "web-1", "p1", "rs1"), owned_by("Pod", "db-1", "p2", "rs2")],
    replica_sets=[
        owned_by("ReplicaSet", "web", "rs1", "d1"),
        owned_by("ReplicaSet", "db", "rs2", "d2"),
    ],
    jobs=[owned_by("Job", "backup", "j1", "c1")],
)


def test_a_deployment_gets_its_replica_sets_and_their_pods_only() -> None:
    context = INDEX.context_for([deployment("web", "d1")])
    assert [p["metadata"]["name"] for p in context.pods or ()] == ["web-1"]  # type: ignore[index]
    assert [r["metadata"]["uid"] for r in context.replica_sets or ()] == ["rs1"]  # type: ignore[index]
    assert context.jobs == ()


def test_a_cron_job_gets_its_jobs() -> None:
    cron: JsonObject = {"kind": "CronJob", "metadata": {"name": "backup", "uid": "c1"}}
    assert [j["metadata"]["uid"] for j in INDEX.context_for([cron]).jobs] == ["j1"]  # type: ignore[index]


def test_objects_without_children_get_an_empty_context() -> None:
    context = INDEX.context_for([{"kind": "ConfigMap", "metadata": {"name": "c", "uid": "cm"}}])
    assert context.pods == () and context.replica_sets == ()


def test_the_narrowed_context_explains_a_deployment_by_its_own_pod() -> None:
    state = resource_health(
        deployment("web", "d1"), context=INDEX.context_for([deployment("web", "d1")])
    )
    assert [pod.name for pod in state.pods or ()] == ["web-1"]
