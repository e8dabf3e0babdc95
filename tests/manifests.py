"""Object bodies several tests apply: written once so each test shows only what it varies."""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.types import JsonObject

OPEN_SCHEMA: JsonObject = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
DATA_CLAIM: JsonObject = {
    "metadata": {"name": "data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}
"""A StatefulSet's claim template: each pod's volume `data`, 1Gi."""


def crd(
    group: str, kind: str, *, version: str = "v1", spec_properties: JsonObject | None = None
) -> JsonObject:
    """A namespaced CustomResourceDefinition; `spec_properties` gives a structural schema
    (with defaults) for `.spec`, else the schema keeps unknown fields."""
    plural = kind.lower() + "s"
    schema: JsonObject = OPEN_SCHEMA
    if spec_properties is not None:
        schema = {
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": spec_properties}},
        }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def pod_template(
    labels: dict[str, Any],
    *,
    container: str = "app",
    image: str = "registry.invalid/app:1",
    **pod_spec: Any,
) -> JsonObject:
    """A pod template of one container that never pulls (the dev cluster's nodes are
    KWOK's); `pod_spec` adds to the pod's spec."""
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": container, "image": image}], **pod_spec},
    }


def workload(
    kind: str,
    name: str,
    *,
    container: str = "app",
    image: str = "registry.invalid/app:1",
    pod: dict[str, Any] | None = None,
    **spec: Any,
) -> JsonObject:
    """A Deployment or StatefulSet `name` of one container, its pods labelled and selected
    by `app: name`; `spec` adds to the workload's spec, `pod` to the pod's."""
    labels: dict[str, Any] = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            **spec,
            "selector": {"matchLabels": labels},
            "template": pod_template(labels, container=container, image=image, **(pod or {})),
        },
    }


def release_config(name: str, outputs: JsonObject) -> JsonObject:
    """The ReleaseConfig by which a chart publishes `outputs` to its dependents."""
    return {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "ReleaseConfig",
        "metadata": {"name": name},
        "spec": {"outputConfig": outputs},
    }


def release(namespace: str, name: str, **fields: Any) -> JsonObject:
    """A Release file's body; `fields` (chartPath, dependencies, ...) follow its name."""
    return {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": name,
        "namespace": namespace,
        **fields,
    }


def release_yaml(namespace: str, name: str, **fields: Any) -> str:
    """A Release file's text, its keys in the order written."""
    return yaml.safe_dump(release(namespace, name, **fields), sort_keys=False)


def kafka_on_zookeeper(namespace: str) -> JsonObject:
    """The examples' kafka release, one replica, taking the outputs of the zookeeper
    release of `namespace` (charts/kafka and charts/zookeeper beside it)."""
    return release(
        namespace,
        "kafka",
        chartPath="charts/kafka",
        configValues={"replicas": 1},
        dependencies={"zookeeper": f"{namespace}/zookeeper"},
    )
