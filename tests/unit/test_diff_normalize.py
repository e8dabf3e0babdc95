"""Normalisation: what the API server owns or adds never reaches a diff."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from reconciler.diff import normalize
from reconciler.diff.normalize import (
    LAST_APPLIED_ANNOTATION,
    SERVER_ANNOTATIONS,
    SERVER_METADATA_FIELDS,
)
from reconciler.render.model import KubeObject
from reconciler.types import JsonObject

SERVER_VALUES: JsonObject = {
    "managedFields": [{"manager": "harmonia", "operation": "Apply"}],
    "resourceVersion": "4711",
    "uid": "0b7c2f0e-7d1e-4c55-9d3a-3f1f0c6d9a10",
    "generation": 3,
    "creationTimestamp": "2026-01-02T03:04:05Z",
    "selfLink": "/apis/apps/v1/namespaces/shop/deployments/web",
    "deletionTimestamp": "2026-01-02T03:05:00Z",
    "deletionGracePeriodSeconds": 30,
}


def live_deployment() -> KubeObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web"},
            "annotations": {
                LAST_APPLIED_ANNOTATION: '{"kind":"Deployment"}',
                "deployment.kubernetes.io/revision": "7",
                "team": "storefront",
            },
            "finalizers": ["example.com/cleanup"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "1"}],
            **copy.deepcopy(SERVER_VALUES),
        },
        "spec": {"replicas": 2},
        "status": {"replicas": 2, "readyReplicas": 2},
    }


def metadata_of(obj: KubeObject) -> JsonObject:
    metadata = obj["metadata"]
    assert isinstance(metadata, dict)
    return metadata


def test_every_server_field_is_listed() -> None:
    assert set(SERVER_METADATA_FIELDS) == set(SERVER_VALUES)


@pytest.mark.parametrize("field", SERVER_METADATA_FIELDS)
def test_normalize_drops_each_server_owned_metadata_field(field: str) -> None:
    assert field in metadata_of(live_deployment())
    assert field not in metadata_of(normalize(live_deployment()))


def test_normalize_drops_status() -> None:
    assert "status" not in normalize(live_deployment())


@pytest.mark.parametrize("annotation", SERVER_ANNOTATIONS)
def test_normalize_drops_each_server_annotation_and_keeps_the_users(annotation: str) -> None:
    annotations = metadata_of(normalize(live_deployment()))["annotations"]
    assert isinstance(annotations, dict)
    assert annotation not in annotations
    assert annotations == {"team": "storefront"}


def test_normalize_keeps_every_field_users_write() -> None:
    assert normalize(live_deployment()) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web"},
            "annotations": {"team": "storefront"},
            "finalizers": ["example.com/cleanup"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "1"}],
        },
        "spec": {"replicas": 2},
    }


def test_annotations_left_empty_by_normalisation_are_dropped() -> None:
    live = live_deployment()
    metadata_of(live)["annotations"] = {LAST_APPLIED_ANNOTATION: "{}"}
    assert "annotations" not in metadata_of(normalize(live))


def test_empty_labels_and_annotations_read_as_absent() -> None:
    live = live_deployment()
    metadata_of(live).update({"labels": {}, "annotations": None})
    normalized = metadata_of(normalize(live))
    assert "labels" not in normalized
    assert "annotations" not in normalized


def test_normalize_leaves_its_input_alone() -> None:
    live = live_deployment()
    normalize(live)
    assert live == live_deployment()


def test_normalize_of_a_normalised_object_changes_nothing() -> None:
    once = normalize(live_deployment())
    assert normalize(once) == once


def test_a_secrets_string_data_is_folded_into_data_as_the_server_stores_it() -> None:
    secret: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"user": base64.b64encode(b"admin").decode(), "password": "b2xk"},
        "stringData": {"password": "hunter2"},
    }
    assert normalize(secret) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"user": "YWRtaW4=", "password": base64.b64encode(b"hunter2").decode()},
    }


def test_a_string_data_value_that_is_not_text_stays_where_it_is() -> None:
    secret: KubeObject = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"port": 5432, "user": "admin"},
    }
    normalized = normalize(secret)
    assert normalized["stringData"] == {"port": 5432}
    assert normalized["data"] == {"user": "YWRtaW4="}


def test_string_data_of_other_kinds_is_not_touched() -> None:
    custom: KubeObject = {
        "apiVersion": "example.com/v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"user": "admin"},
    }
    assert normalize(custom) == custom


def pod_spec(cpu: str, size: str) -> JsonObject:
    return {
        "containers": [{"name": "c", "resources": {"limits": {"cpu": cpu}}}],
        "volumes": [{"name": "v", "emptyDir": {"sizeLimit": size}}],
    }


@pytest.mark.parametrize(
    ("api_version", "kind", "spec", "pointer"),
    [
        ("v1", "Pod", pod_spec("1.5", "0.5Gi"), ("spec",)),
        (
            "apps/v1",
            "Deployment",
            {"template": {"spec": pod_spec("1.5", "0.5Gi")}},
            ("spec", "template", "spec"),
        ),
        (
            "batch/v1",
            "CronJob",
            {"jobTemplate": {"spec": {"template": {"spec": pod_spec("1.5", "0.5Gi")}}}},
            ("spec", "jobTemplate", "spec", "template", "spec"),
        ),
    ],
)
def test_quantities_in_a_pod_template_are_written_as_the_server_stores_them(
    api_version: str, kind: str, spec: JsonObject, pointer: tuple[str, ...]
) -> None:
    pod: Any = normalize({"apiVersion": api_version, "kind": kind, "spec": spec})
    for step in pointer:
        pod = pod[step]
    assert pod["containers"][0]["resources"] == {"limits": {"cpu": "1500m"}}
    assert pod["volumes"][0]["emptyDir"] == {"sizeLimit": "512Mi"}


def test_quantities_of_claims_quotas_and_limit_ranges_are_canonical() -> None:
    claim = normalize(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "spec": {"resources": {"requests": {"storage": "1024Mi"}}},
        }
    )
    quota = normalize(
        {"apiVersion": "v1", "kind": "ResourceQuota", "spec": {"hard": {"pods": 1000}}}
    )
    limits = normalize(
        {"apiVersion": "v1", "kind": "LimitRange", "spec": {"limits": [{"max": {"cpu": "5n"}}]}}
    )
    assert claim["spec"] == {"resources": {"requests": {"storage": "1Gi"}}}
    assert quota["spec"] == {"hard": {"pods": "1k"}}
    assert limits["spec"] == {"limits": [{"max": {"cpu": "1m"}}]}


def test_a_custom_resource_and_a_value_that_is_no_quantity_stay_as_written() -> None:
    custom: KubeObject = {
        "apiVersion": "example.com/v1",
        "kind": "Pod",
        "spec": pod_spec("1.5", "0.5Gi"),
    }
    broken: KubeObject = {"apiVersion": "v1", "kind": "Pod", "spec": pod_spec("lots", "big")}
    assert normalize(custom) == custom
    assert normalize(broken) == broken
