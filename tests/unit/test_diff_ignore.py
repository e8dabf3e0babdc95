"""ignoreDifferences: JSON pointers (RFC 6901) taken out of both sides, scoped by kind and name."""

from __future__ import annotations

import re

import pytest

from reconciler.diff import InvalidPointer, compare, ignore_differences
from reconciler.diff.pointer import format_pointer, parse_pointer, remove_pointers
from reconciler.release_requests.model import IgnoreDifference
from reconciler.render.model import KubeObject
from reconciler.types import JsonObject


def deployment(*, replicas: int = 2, name: str = "web", namespace: str = "shop") -> KubeObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {"example.com/note": "hi", "a~b": "tilde"},
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:1", "args": ["--a", "--b", "--c"]},
                        {"name": "sidecar", "image": "envoy:1"},
                    ]
                }
            },
        },
    }


def spec_of(obj: KubeObject) -> JsonObject:
    spec = obj["spec"]
    assert isinstance(spec, dict)
    return spec


def containers_of(obj: KubeObject) -> list[JsonObject]:
    template = spec_of(obj)["template"]
    assert isinstance(template, dict)
    pod = template["spec"]
    assert isinstance(pod, dict)
    containers = pod["containers"]
    assert isinstance(containers, list)
    return [c for c in containers if isinstance(c, dict)]


# --- pointers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [
        ("", ()),
        ("/", ("",)),
        ("/spec/replicas", ("spec", "replicas")),
        (
            "/metadata/annotations/example.com~1note",
            ("metadata", "annotations", "example.com/note"),
        ),
        ("/a~0b", ("a~b",)),
        ("/~01", ("~1",)),
        ("/items/0", ("items", "0")),
    ],
)
def test_a_pointer_parses_into_unescaped_tokens(pointer: str, tokens: tuple[str, ...]) -> None:
    assert parse_pointer(pointer) == tokens


@pytest.mark.parametrize(
    ("pointer", "message"),
    [
        ("spec/replicas", "JSON pointer 'spec/replicas': must start with '/'"),
        ("/a~2b", "JSON pointer '/a~2b': '~' must be followed by 0 or 1"),
        ("/a~", "JSON pointer '/a~': '~' must be followed by 0 or 1"),
    ],
)
def test_text_that_is_not_a_pointer_is_refused(pointer: str, message: str) -> None:
    with pytest.raises(InvalidPointer, match=re.escape(message)):
        parse_pointer(pointer)


def test_format_pointer_escapes_what_parse_pointer_unescapes() -> None:
    path = ("metadata", "annotations", "example.com/a~b", 0)
    assert format_pointer(path) == "/metadata/annotations/example.com~1a~0b/0"
    assert parse_pointer(format_pointer(path)) == (
        "metadata",
        "annotations",
        "example.com/a~b",
        "0",
    )


def test_removing_a_field_leaves_the_rest_and_the_input_alone() -> None:
    obj = deployment()
    removed = remove_pointers(obj, ["/spec/replicas"])
    assert "replicas" not in spec_of(removed)
    expected = deployment()
    del spec_of(expected)["replicas"]
    assert removed == expected
    assert obj == deployment()


def test_escaped_tokens_name_keys_with_slashes_and_tildes() -> None:
    removed = remove_pointers(
        deployment(), ["/metadata/annotations/example.com~1note", "/metadata/annotations/a~0b"]
    )
    metadata = removed["metadata"]
    assert isinstance(metadata, dict)
    assert "annotations" not in metadata


def test_a_pointer_into_a_list_removes_that_element() -> None:
    removed = remove_pointers(deployment(), ["/spec/template/spec/containers/0/args/1"])
    assert containers_of(removed)[0]["args"] == ["--a", "--c"]


def test_every_list_index_names_an_element_of_the_object_as_given() -> None:
    removed = remove_pointers(
        deployment(),
        ["/spec/template/spec/containers/0/args/0", "/spec/template/spec/containers/0/args/2"],
    )
    assert containers_of(removed)[0]["args"] == ["--b"]


def test_a_field_and_a_field_inside_it_can_both_be_named() -> None:
    removed = remove_pointers(
        deployment(),
        ["/spec/template/spec/containers/1/image", "/spec/template/spec/containers/1"],
    )
    assert [c["name"] for c in containers_of(removed)] == ["web"]


@pytest.mark.parametrize(
    "pointer",
    [
        "/spec/paused",
        "/spec/replicas/deeper",
        "/spec/template/spec/containers/2",
        "/spec/template/spec/containers/-",
        "/spec/template/spec/containers/01",
        "/spec/template/spec/containers/web",
        "/status",
    ],
)
def test_a_pointer_to_nothing_is_a_no_op(pointer: str) -> None:
    assert remove_pointers(deployment(), [pointer]) == deployment()


def test_a_map_emptied_by_a_removal_goes_up_to_the_first_list_element() -> None:
    document: JsonObject = {"spec": {"a": {"b": {"c": 1}}, "items": [{"x": {"y": 1}}]}}
    assert remove_pointers(document, ["/spec/a/b/c"]) == {"spec": {"items": [{"x": {"y": 1}}]}}
    assert remove_pointers(document, ["/spec/items/0/x/y"]) == {
        "spec": {"a": {"b": {"c": 1}}, "items": [{}]}
    }


def test_a_list_emptied_by_a_removal_goes_too() -> None:
    document: JsonObject = {"spec": {"args": ["--a"], "keep": 1}}
    assert remove_pointers(document, ["/spec/args/0"]) == {"spec": {"keep": 1}}


def test_an_empty_map_that_was_there_before_is_kept() -> None:
    document: JsonObject = {"spec": {"empty": {}, "a": 1}}
    assert remove_pointers(document, ["/spec/a"]) == {"spec": {"empty": {}}}


def test_a_pointer_to_the_whole_object_is_refused() -> None:
    with pytest.raises(InvalidPointer, match="names the whole object"):
        remove_pointers(deployment(), [""])


# --- rules ------------------------------------------------------------------

REPLICAS = IgnoreDifference(group="apps", kind="Deployment", json_pointers=("/spec/replicas",))


def test_a_rule_for_the_objects_group_and_kind_removes_its_pointers() -> None:
    assert "replicas" not in spec_of(ignore_differences(deployment(), [REPLICAS]))


@pytest.mark.parametrize(
    "rule",
    [
        IgnoreDifference(kind="Deployment", json_pointers=("/spec/replicas",)),
        IgnoreDifference(group="apps", kind="StatefulSet", json_pointers=("/spec/replicas",)),
        IgnoreDifference(group="extensions", kind="Deployment", json_pointers=("/spec/replicas",)),
        IgnoreDifference(
            group="apps", kind="Deployment", name="api", json_pointers=("/spec/replicas",)
        ),
        IgnoreDifference(
            group="apps", kind="Deployment", namespace="other", json_pointers=("/spec/replicas",)
        ),
    ],
    ids=["core-group", "other-kind", "other-group", "other-name", "other-namespace"],
)
def test_a_rule_for_another_object_leaves_it_as_it_is(rule: IgnoreDifference) -> None:
    obj = deployment()
    assert ignore_differences(obj, [rule]) is obj


def test_a_rule_scoped_by_name_and_namespace_applies_to_that_object_only() -> None:
    rule = IgnoreDifference(
        group="apps",
        kind="Deployment",
        name="web",
        namespace="shop",
        json_pointers=("/spec/replicas",),
    )
    assert "replicas" not in spec_of(ignore_differences(deployment(), [rule]))
    assert "replicas" in spec_of(ignore_differences(deployment(name="api"), [rule]))
    assert "replicas" in spec_of(ignore_differences(deployment(namespace="test"), [rule]))


def test_a_bad_pointer_in_a_rule_names_the_object() -> None:
    rule = IgnoreDifference(group="apps", kind="Deployment", json_pointers=("spec/replicas",))
    with pytest.raises(
        InvalidPointer, match=r"^Deployment/shop/web: ignoreDifferences: JSON pointer"
    ):
        ignore_differences(deployment(), [rule])


def test_an_ignored_field_that_differs_leaves_the_object_unchanged() -> None:
    change = compare(deployment(replicas=5), deployment(replicas=2), rules=[REPLICAS])
    assert change.action == "unchanged"
    assert change.diff_text is None


def test_an_ignored_field_is_left_out_of_the_diff_of_other_changes() -> None:
    desired = deployment(replicas=5)
    containers_of(desired)[1]["image"] = "envoy:2"
    change = compare(desired, deployment(replicas=2), rules=[REPLICAS])
    assert change.changed_paths == ("/spec/template/spec/containers/1/image",)
    assert change.diff_text is not None
    assert "replicas" not in change.diff_text


def test_an_ignored_list_element_is_removed_from_both_sides() -> None:
    desired, live = deployment(), deployment()
    containers_of(live)[0]["args"] = ["--a", "--injected", "--c"]
    rule = IgnoreDifference(
        group="apps", kind="Deployment", json_pointers=("/spec/template/spec/containers/0/args/1",)
    )
    assert compare(desired, live).action == "configured"
    assert compare(desired, live, rules=[rule]).action == "unchanged"
    assert desired == deployment()
