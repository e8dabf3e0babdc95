"""`still_applied`: a live object holding every applied field needs no dry-run."""

from __future__ import annotations

import copy

from reconciler.diff.contained import still_applied
from reconciler.types import JsonObject

DESIRED: JsonObject = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}},
    },
}


def live_copy() -> JsonObject:
    live = copy.deepcopy(DESIRED)
    live["metadata"]["resourceVersion"] = "42"  # type: ignore[index]
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"  # type: ignore[index]
    live["status"] = {"availableReplicas": 2, "observedGeneration": 3}
    return live


def test_status_and_defaults_written_by_others_leave_the_object_applied() -> None:
    assert still_applied(DESIRED, live_copy())


def test_a_changed_value_is_not_applied() -> None:
    live = live_copy()
    live["spec"]["replicas"] = 3  # type: ignore[index]
    assert not still_applied(DESIRED, live)


def test_a_removed_label_is_not_applied() -> None:
    live = live_copy()
    live["metadata"]["labels"] = {}  # type: ignore[index]
    assert not still_applied(DESIRED, live)


def test_a_list_of_another_length_is_not_applied() -> None:
    live = live_copy()
    containers = live["spec"]["template"]["spec"]["containers"]  # type: ignore[index]
    containers.append({"name": "sidecar", "image": "proxy:1"})  # type: ignore[union-attr]
    assert not still_applied(DESIRED, live)


def test_true_and_one_are_different_values() -> None:
    desired: JsonObject = {"apiVersion": "v1", "kind": "ConfigMap", "spec": {"flag": True}}
    assert not still_applied(
        desired, {"apiVersion": "v1", "kind": "ConfigMap", "spec": {"flag": 1}}
    )


def test_secret_string_data_counts_as_its_encoded_data() -> None:
    desired: JsonObject = {"apiVersion": "v1", "kind": "Secret", "stringData": {"k": "v"}}
    live: JsonObject = {"apiVersion": "v1", "kind": "Secret", "data": {"k": "dg=="}}
    assert still_applied(desired, live)
    assert not still_applied(desired, {**live, "data": {"k": "dw=="}})
