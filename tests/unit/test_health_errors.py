"""Objects of the wrong shape get a clear error naming the object and the field; any
mangled object gives a state or that error, never a crash."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.health import (
    HealthContext,
    HealthError,
    ResourceState,
    pod_state,
    resource_health,
)
from tests.unit.test_health_pods import CRASH_LOOP, UNSCHEDULABLE
from tests.unit.test_health_workloads import CRON_JOB, DAEMON_SET, DEPLOYMENT, JOB, STATEFUL_SET

WEB = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
}


@pytest.mark.parametrize(
    ("obj", "error"),
    [
        ({"metadata": {"name": "web"}}, "live object web: has no kind"),
        ({"kind": "Deployment", "metadata": {}}, "Deployment: has no metadata.name"),
        ({"kind": "Deployment"}, "Deployment: has no metadata.name"),
        (
            {**WEB, "status": {"observedGeneration": 1, "replicas": "three"}},
            "Deployment shop/web: status.replicas: expected an integer, got 'three'",
        ),
        (
            {**WEB, "spec": {"replicas": True}},
            "Deployment shop/web: spec.replicas: expected an integer, got True",
        ),
        (
            {**WEB, "status": "Ready"},
            "Deployment shop/web: status: expected an object, got 'Ready'",
        ),
        (
            {**WEB, "status": {"observedGeneration": 0, "conditions": {"type": "Progressing"}}},
            "Deployment shop/web: status.conditions: expected a list, got",
        ),
        (
            {**WEB, "status": {"observedGeneration": 0, "conditions": ["Available"]}},
            r"Deployment shop/web: status.conditions\[0\]: expected an object, got 'Available'",
        ),
        (
            {**WEB, "status": {"observedGeneration": 0, "conditions": [{"type": 7}]}},
            r"Deployment shop/web: status.conditions\[0\]: type: expected a string, got 7",
        ),
        (
            {**WEB, "metadata": {**WEB["metadata"], "deletionTimestamp": "x", "finalizers": "f"}},
            "Deployment shop/web: metadata.finalizers: expected a list of strings, got 'f'",
        ),
    ],
)
def test_a_malformed_object_is_a_clear_error_naming_the_field(
    obj: dict[str, Any], error: str
) -> None:
    with pytest.raises(HealthError, match=error):
        resource_health(obj)


def test_a_pod_with_a_non_string_label_is_refused_while_selecting() -> None:
    workload = {**WEB, "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop", "labels": {"app": 1}},
    }
    with pytest.raises(HealthError, match=r"Pod shop/p: metadata\.labels\.app: expected a string"):
        resource_health(workload, context=HealthContext(pods=(pod,)))


def test_a_container_status_of_the_wrong_type_names_the_pod_and_the_entry() -> None:
    pod = yaml.safe_load("""
    apiVersion: v1
    kind: Pod
    metadata: {name: p, namespace: shop}
    status: {phase: Running, containerStatuses: [{name: app, restartCount: many}]}
    """)
    with pytest.raises(
        HealthError,
        match=r"Pod shop/p: status.containerStatuses\[0\]: restartCount: expected an integer",
    ):
        pod_state(pod)


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"waited": timedelta(seconds=-5)}, "health context: waited must not be negative"),
        ({"timeout": timedelta(0)}, "health context: timeout must be positive"),
    ],
)
def test_a_context_with_impossible_times_is_refused(
    settings: dict[str, timedelta], error: str
) -> None:
    with pytest.raises(HealthError, match=error):
        HealthContext(**settings)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
SAMPLES = [DEPLOYMENT, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB, UNSCHEDULABLE, CRASH_LOOP]


def paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.data(), JSON_VALUES)
def test_any_field_replaced_by_any_value_gives_a_state_or_a_health_error(
    sample: dict[str, Any], data: st.DataObject, value: Any
) -> None:
    obj = copy.deepcopy(sample)
    path = data.draw(st.sampled_from(paths(obj)))
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    pods = (copy.deepcopy(CRASH_LOOP), obj) if obj.get("kind") != "Pod" else (obj,)
    try:
        health = resource_health(obj, context=HealthContext(pods=pods, jobs=(obj,)))
    except HealthError as error:
        assert str(error)
    else:
        assert isinstance(health, ResourceState)
