"""Lists expanded into their items, and every rendered object named, before a release's
objects go any further."""

from __future__ import annotations

import pytest

from reconciler.objects import ref_of
from reconciler.render.manifests.flatten import flatten_objects
from reconciler.render.model import KubeObject, RenderError
from reconciler.types import JsonObject, JsonValue

SUBJECT = "release shop/web: chart web"
RBAC = "rbac.authorization.k8s.io/v1"


def config_map(name: str) -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def listed(kind: str, items: list[JsonValue], api_version: str = "v1") -> KubeObject:
    return {"apiVersion": api_version, "kind": kind, "items": items}


def names(objects: tuple[KubeObject, ...]) -> list[str]:
    return [str(ref_of(obj)) for obj in objects]


def test_a_list_stands_for_its_items_in_order_nested_lists_too() -> None:
    objects = [
        config_map("first"),
        listed("List", [config_map("a"), listed("ConfigMapList", [config_map("b")])]),
        config_map("last"),
    ]
    assert names(flatten_objects(objects, subject=SUBJECT)) == [
        "ConfigMap/first",
        "ConfigMap/a",
        "ConfigMap/b",
        "ConfigMap/last",
    ]


def test_an_item_of_a_typed_list_without_apiversion_and_kind_takes_the_lists() -> None:
    binding: JsonObject = {"metadata": {"name": "reader"}, "roleRef": {"name": "reader"}}
    (flattened,) = flatten_objects([listed("RoleBindingList", [binding], RBAC)], subject=SUBJECT)
    assert flattened == {"apiVersion": RBAC, "kind": "RoleBinding", **binding}


def test_an_empty_list_renders_nothing() -> None:
    assert flatten_objects([listed("RoleList", [], RBAC)], subject=SUBJECT) == ()


def test_a_kind_ending_in_list_without_items_is_an_object_of_its_own() -> None:
    allow = {"apiVersion": "x.example/v1", "kind": "AllowList", "metadata": {"name": "ips"}}
    assert flatten_objects([allow], subject=SUBJECT) == (allow,)


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (
            [{"apiVersion": RBAC, "kind": "RoleBindingList"}],
            f"RoleBindingList ({RBAC}): no metadata.name",
        ),
        (
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": None}],
            "ConfigMap (v1): no metadata.name",
        ),
        ([{"apiVersion": "v1", "kind": "List", "items": None}], "List (v1): items is not a list"),
        ([listed("List", ["text"])], "List (v1): item 0 is not an object"),
        ([listed("List", [{"metadata": {"name": "x"}}])], "object x: no apiVersion"),
        (
            [listed("List", [{"apiVersion": "v1", "kind": "ConfigMap"}])],
            "ConfigMap (v1): no metadata.name",
        ),
        (
            [listed("RoleList", [{"metadata": {"name": "r", "namespace": ["a"]}}], RBAC)],
            "Role/r: metadata.namespace is not a string",
        ),
    ],
    ids=[
        "list-kind-unnamed",
        "metadata-null",
        "items-null",
        "item-text",
        "item-untyped",
        "item-unnamed",
        "namespace-list",
    ],
)
def test_an_object_that_cannot_be_named_fails_the_render_naming_it(
    objects: list[KubeObject], message: str
) -> None:
    with pytest.raises(RenderError) as raised:
        flatten_objects(objects, subject=SUBJECT)
    assert str(raised.value) == f"{SUBJECT}: {message}"
