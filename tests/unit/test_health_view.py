"""The health view keeps everything the health rules read: every object of the health
tests is judged the same whole and as its view, and the view drops the templates and a
pod's spec."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from reconciler.health import HealthContext, HealthError, pod_state, resource_health
from reconciler.health.view import health_view
from tests.unit import (
    test_health_non_workloads,
    test_health_owners,
    test_health_pods,
    test_health_workloads,
)

MODULES = (test_health_pods, test_health_workloads, test_health_non_workloads, test_health_owners)


def fixtures(module: ModuleType) -> list[Any]:
    return [
        value
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, dict) and "kind" in value
    ]


OBJECTS = [obj for module in MODULES for obj in fixtures(module)]
PODS = tuple(obj for obj in OBJECTS if obj["kind"] == "Pod")


def judged(obj: Any, context: HealthContext) -> object:
    try:
        return resource_health(obj, context=context)
    except HealthError as error:
        return str(error)


def test_there_are_fixtures_of_every_workload_kind_and_of_pods() -> None:
    kinds = {obj["kind"] for obj in OBJECTS}
    assert {"Pod", "Deployment", "StatefulSet", "DaemonSet", "Job"} <= kinds, kinds


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_an_object_and_its_view_are_judged_the_same(obj: Any) -> None:
    whole = HealthContext(pods=PODS)
    viewed = HealthContext(pods=tuple(health_view(pod) for pod in PODS))
    assert judged(health_view(obj), viewed) == judged(obj, whole)
    if obj["kind"] == "Pod":
        assert pod_state(health_view(obj)) == pod_state(obj)


def test_the_view_drops_templates_and_a_pods_spec_but_its_node_and_container_names() -> None:
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "web", "managedFields": [{"manager": "harmonia"}]},
        "spec": {"replicas": 2, "template": {"spec": {"containers": []}}},
    }
    pod = {
        "kind": "Pod",
        "metadata": {"name": "web-1"},
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": "app", "image": "web:1", "env": [{"name": "A"}]}],
            "volumes": [{"name": "data"}],
        },
    }

    assert health_view(deployment) == {
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 2},
    }
    assert health_view(pod)["spec"] == {"nodeName": "node-1", "containers": [{"name": "app"}]}
    assert "managedFields" in deployment["metadata"]  # the object itself is left as it was
