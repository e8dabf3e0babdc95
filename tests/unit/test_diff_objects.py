"""How objects are named: ObjectRef and ref_of."""

from __future__ import annotations

import re

import pytest

from reconciler.objects import MalformedObject, ObjectRef, ref_of
from reconciler.types import JsonObject


def test_ref_of_reads_api_version_kind_namespace_and_name() -> None:
    ref = ref_of(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
        }
    )
    assert ref == ObjectRef(api_version="apps/v1", kind="Deployment", namespace="shop", name="web")
    assert (ref.group, ref.version) == ("apps", "v1")
    assert str(ref) == "Deployment/shop/web"


def test_a_cluster_scoped_object_has_an_empty_namespace_and_a_two_part_name() -> None:
    ref = ref_of({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    assert ref.namespace == ""
    assert (ref.group, ref.version) == ("", "v1")
    assert str(ref) == "Namespace/shop"
    assert ref.to_json() == {"apiVersion": "v1", "kind": "Namespace", "name": "shop"}


def test_a_null_namespace_reads_as_cluster_scoped() -> None:
    ref = ref_of(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": None}}
    )
    assert ref.namespace == ""


def test_one_object_read_at_two_api_versions_has_one_identity() -> None:
    v1 = ObjectRef("autoscaling/v1", "HorizontalPodAutoscaler", "shop", "web")
    v2 = ObjectRef("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web")
    assert v1 != v2
    assert v1.identity == v2.identity == ("autoscaling", "HorizontalPodAutoscaler", "shop", "web")


def test_to_json_names_the_object_the_way_kubernetes_references_do() -> None:
    ref = ObjectRef("apps/v1", "Deployment", "shop", "web")
    assert ref.to_json() == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "namespace": "shop",
        "name": "web",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "Deployment", "metadata": {"name": "web"}}, "Deployment web: no apiVersion"),
        ({"metadata": {"name": "web"}}, "object web: no apiVersion"),
        ({"apiVersion": "v1", "metadata": {"name": "web"}}, "object web (v1): no kind"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "ConfigMap (v1): no metadata.name"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "web"}, "no metadata.name"),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": 3}},
            "ConfigMap/a: metadata.namespace is not a string",
        ),
    ],
)
def test_an_object_without_its_naming_fields_is_refused_with_what_is_missing(
    body: JsonObject, message: str
) -> None:
    with pytest.raises(MalformedObject, match=re.escape(message)):
        ref_of(body)
