"""Ownership metadata on rendered objects, and the policy's refusals."""

from __future__ import annotations

import copy

import pytest

from reconciler.policy import Policy
from reconciler.render.model import KubeObject, RenderError
from reconciler.render.ownership import (
    CLUSTER_SCOPED_KINDS,
    apply_ownership,
    group_kind,
    is_cluster_scoped,
)
from reconciler.types import JsonObject, ReleaseKey

RELEASE = ReleaseKey("shop/web")
OPEN = Policy(allowed_namespaces=("*",), allow_cluster_scoped=True)


def obj(
    kind: str, name: str, *, api_version: str = "v1", namespace: str | None = None
) -> KubeObject:
    metadata: dict[str, str] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": dict(metadata)}


def metadata_of(owned: KubeObject) -> JsonObject:
    metadata = owned["metadata"]
    assert isinstance(metadata, dict)
    return metadata


def test_every_object_gets_the_ownership_labels_and_owner_annotation() -> None:
    (owned,) = apply_ownership([obj("ConfigMap", "web")], release=RELEASE, policy=OPEN)
    assert owned["metadata"] == {
        "name": "web",
        "namespace": "shop",
        "labels": {
            "app.kubernetes.io/managed-by": "harmonia",
            "harmonia.dev/release-name": "web",
            "harmonia.dev/release-namespace": "shop",
        },
        "annotations": {"harmonia.dev/owner": "shop/web"},
    }


def test_ownership_keeps_the_charts_own_labels_and_replaces_helms_managed_by() -> None:
    service = obj("Service", "web")
    service["metadata"] = {
        "name": "web",
        "labels": {"app": "web", "app.kubernetes.io/managed-by": "Helm"},
        "annotations": {"note": "kept"},
    }
    (owned,) = apply_ownership([service], release=RELEASE, policy=OPEN)
    metadata = metadata_of(owned)
    assert metadata["labels"] == {
        "app": "web",
        "app.kubernetes.io/managed-by": "harmonia",
        "harmonia.dev/release-name": "web",
        "harmonia.dev/release-namespace": "shop",
    }
    assert metadata["annotations"] == {"note": "kept", "harmonia.dev/owner": "shop/web"}


def test_an_object_in_another_allowed_namespace_keeps_it() -> None:
    (owned,) = apply_ownership(
        [obj("ConfigMap", "x", namespace="shared")], release=RELEASE, policy=OPEN
    )
    assert metadata_of(owned)["namespace"] == "shared"


def test_a_cluster_scoped_object_gets_no_namespace_and_loses_one_it_was_given() -> None:
    role = obj("ClusterRole", "reader", api_version="rbac.authorization.k8s.io/v1", namespace="x")
    (owned,) = apply_ownership([role], release=RELEASE, policy=OPEN)
    metadata = metadata_of(owned)
    assert "namespace" not in metadata
    assert metadata["annotations"] == {"harmonia.dev/owner": "shop/web"}


def test_kinds_learnt_from_discovery_are_cluster_scoped_too() -> None:
    widget = obj("ClusterWidget", "w", api_version="example.com/v1")
    assert not is_cluster_scoped(widget)
    assert is_cluster_scoped(widget, extra={("example.com", "ClusterWidget")})
    (owned,) = apply_ownership(
        [widget],
        release=RELEASE,
        policy=OPEN,
        extra_cluster_scoped={("example.com", "ClusterWidget")},
    )
    assert "namespace" not in metadata_of(owned)


def test_the_kind_table_keys_on_the_api_group() -> None:
    assert group_kind(obj("Deployment", "a", api_version="apps/v1")) == ("apps", "Deployment")
    assert group_kind(obj("Namespace", "a")) == ("", "Namespace")
    assert ("", "Namespace") in CLUSTER_SCOPED_KINDS
    assert not is_cluster_scoped(obj("ClusterRole", "a", api_version="example.com/v1"))


def test_ownership_does_not_change_the_objects_given() -> None:
    objects = [obj("ConfigMap", "web")]
    before = copy.deepcopy(objects)
    apply_ownership(objects, release=RELEASE, policy=OPEN)
    assert objects == before


@pytest.mark.parametrize(
    ("objects", "policy", "message"),
    [
        (
            [obj("ConfigMap", "x", namespace="kube-system")],
            Policy(allowed_namespaces=("shop", "team-*")),
            "ConfigMap/kube-system/x: namespace 'kube-system' is not allowed "
            "(allowed: shop, team-*)",
        ),
        (
            [obj("ConfigMap", "x")],
            Policy(allowed_namespaces=("team-*",)),
            "ConfigMap/shop/x: namespace 'shop' is not allowed (allowed: team-*)",
        ),
        (
            [obj("ClusterRole", "admin", api_version="rbac.authorization.k8s.io/v1")],
            Policy(),
            "ClusterRole/admin: cluster-scoped objects are not allowed by the reconciler's policy",
        ),
        (
            [obj("Namespace", "prod")],
            Policy(allowed_namespaces=("shop",), allow_cluster_scoped=True),
            "Namespace/prod: namespace 'prod' is not allowed (allowed: shop)",
        ),
    ],
)
def test_an_object_the_policy_forbids_is_refused_naming_it(
    objects: list[KubeObject], policy: Policy, message: str
) -> None:
    with pytest.raises(RenderError) as error:
        apply_ownership(objects, release=RELEASE, policy=policy)
    assert message in str(error.value)


def test_every_refused_object_is_named_at_once() -> None:
    objects = [
        obj("ConfigMap", "a", namespace="x"),
        obj("ConfigMap", "b", namespace="y"),
        obj("PersistentVolume", "pv"),
    ]
    with pytest.raises(RenderError) as error:
        apply_ownership(objects, release=RELEASE, policy=Policy(allowed_namespaces=("shop",)))
    message = str(error.value)
    assert "ConfigMap/x/a" in message
    assert "ConfigMap/y/b" in message
    assert "PersistentVolume/pv" in message


def test_a_namespace_object_is_allowed_when_the_policy_allows_it() -> None:
    policy = Policy(allowed_namespaces=("shop",), allow_cluster_scoped=True)
    (owned,) = apply_ownership([obj("Namespace", "shop")], release=RELEASE, policy=policy)
    assert owned["kind"] == "Namespace"


def test_the_cluster_scoped_refusal_names_the_flag_that_allows_it() -> None:
    role = obj("ClusterRole", "admin", api_version="rbac.authorization.k8s.io/v1")
    with pytest.raises(RenderError) as error:
        apply_ownership([role], release=RELEASE, policy=Policy())
    assert "run the reconciler with --allow-cluster-scoped" in str(error.value)


def test_a_configmap_named_like_an_inventory_record_is_refused_in_any_namespace() -> None:
    objects = [
        obj("ConfigMap", "harmonia-inventory-web"),
        obj("ConfigMap", "harmonia-inventory-db", namespace="other"),
    ]
    with pytest.raises(RenderError) as error:
        apply_ownership(objects, release=RELEASE, policy=OPEN)
    reserved = "the name prefix harmonia-inventory- is reserved for Harmonia's inventory records"
    assert str(error.value) == (
        f"ConfigMap/shop/harmonia-inventory-web: {reserved}; "
        f"ConfigMap/other/harmonia-inventory-db: {reserved}"
    )
    # Other kinds of that name name no record.
    assert apply_ownership([obj("Secret", "harmonia-inventory-web")], release=RELEASE, policy=OPEN)
