"""The overlay rule (docs/environments.md): one pure merge, and where its values were written."""

from __future__ import annotations

import copy

import pytest

from reconciler.release_requests.diagnostics import NodeInfo, Position, SourceMap
from reconciler.release_requests.overlay import (
    OverlaidSourceMap,
    OverlayRefused,
    deleted_paths,
    merge_overlay,
)
from reconciler.types import JsonObject

BASE: JsonObject = {
    "apiVersion": "harmonia.dev/v1alpha1",
    "kind": "Release",
    "name": "web",
    "namespace": "shop",
    "chartPath": "charts/web",
    "configValues": {"replicas": 1, "image": {"tag": "1.0", "pull": "Always"}, "hosts": ["a"]},
    "valuesFiles": ["values/common.yaml", "values/dev.yaml"],
    "paused": False,
}


def test_mappings_are_merged_at_every_depth() -> None:
    merged = merge_overlay(BASE, {"configValues": {"replicas": 3, "image": {"tag": "2.0"}}})
    assert merged is not None
    assert merged["configValues"] == {
        "replicas": 3,
        "image": {"tag": "2.0", "pull": "Always"},
        "hosts": ["a"],
    }
    assert merged["chartPath"] == "charts/web"


def test_a_null_deletes_the_key_at_any_depth() -> None:
    merged = merge_overlay(BASE, {"configValues": {"image": {"pull": None}}, "paused": None})
    assert merged is not None
    assert merged["configValues"]["image"] == {"tag": "1.0"}  # type: ignore[call-overload,index]
    assert "paused" not in merged


def test_a_null_for_a_key_the_base_lacks_changes_nothing() -> None:
    assert merge_overlay(BASE, {"description": None}) == BASE


def test_lists_are_replaced_not_merged() -> None:
    merged = merge_overlay(
        BASE, {"valuesFiles": ["values/prod.yaml"], "configValues": {"hosts": ["b", "c"]}}
    )
    assert merged is not None
    assert merged["valuesFiles"] == ["values/prod.yaml"]
    assert merged["configValues"]["hosts"] == ["b", "c"]  # type: ignore[call-overload,index]


def test_a_mapping_replaces_a_scalar_and_a_scalar_a_mapping() -> None:
    merged = merge_overlay(BASE, {"configValues": {"replicas": {"min": 2}, "image": "web:2"}})
    assert merged is not None
    assert merged["configValues"]["replicas"] == {"min": 2}  # type: ignore[call-overload,index]
    assert merged["configValues"]["image"] == "web:2"  # type: ignore[call-overload,index]


@pytest.mark.parametrize("field", ["name", "namespace"])
def test_an_overlay_may_not_set_the_name_or_namespace(field: str) -> None:
    with pytest.raises(OverlayRefused) as refused:
        merge_overlay(BASE, {field: "other", "paused": True})
    assert refused.value.path == (field,)
    assert f"may not set '{field}'" in refused.value.message


def test_absent_leaves_the_release_out() -> None:
    assert merge_overlay(BASE, {"absent": True, "paused": True}) is None


def test_absent_false_and_the_overlays_own_fields_are_not_merged() -> None:
    merged = merge_overlay(
        BASE, {"absent": False, "kind": "ReleaseOverlay", "apiVersion": "x", "paused": True}
    )
    assert merged == {**BASE, "paused": True}


def test_merging_changes_neither_input() -> None:
    base, overlay = copy.deepcopy(BASE), {"configValues": {"image": {"pull": None}}}
    kept = copy.deepcopy(overlay)
    merge_overlay(base, overlay)
    assert (base, overlay) == (BASE, kept)


def test_the_deleted_paths_are_the_overlays_nulls_in_order() -> None:
    overlay: JsonObject = {"chartPath": None, "configValues": {"a": {"b": None}, "c": 1}}
    assert deleted_paths(overlay) == (("chartPath",), ("configValues", "a", "b"))


def _at(line: int) -> NodeInfo:
    return NodeInfo(Position(line, 1))


BASE_SOURCE = SourceMap(
    "releases/web.yaml",
    {
        (): _at(1),
        ("chartPath",): _at(5),
        ("configValues",): _at(6),
        ("configValues", "replicas"): _at(7),
        ("configValues", "image"): _at(8),
    },
)
OVERLAY_SOURCE = SourceMap(
    "environments/prod/shop/web.yaml",
    {
        (): _at(1),
        ("configValues",): _at(1),
        ("configValues", "image"): _at(2),
        ("chartPath",): _at(3),
    },
)


def test_a_value_the_overlay_wrote_is_placed_in_the_overlay() -> None:
    source = OverlaidSourceMap(BASE_SOURCE.file, BASE_SOURCE.nodes, overlay=OVERLAY_SOURCE)
    problem = source.diagnostic(("configValues", "image"), "bad", "fix")
    assert (problem.file, problem.line) == ("environments/prod/shop/web.yaml", 2)


def test_a_value_the_base_wrote_is_placed_in_the_base_file_even_under_a_merged_mapping() -> None:
    source = OverlaidSourceMap(BASE_SOURCE.file, BASE_SOURCE.nodes, overlay=OVERLAY_SOURCE)
    problem = source.diagnostic(("configValues", "replicas"), "bad", "fix")
    assert (problem.file, problem.line) == ("releases/web.yaml", 7)
    assert source.file == "releases/web.yaml"


def test_a_problem_with_a_deleted_field_points_at_the_null() -> None:
    source = OverlaidSourceMap(
        BASE_SOURCE.file, BASE_SOURCE.nodes, overlay=OVERLAY_SOURCE, deleted=(("chartPath",),)
    )
    problem = source.diagnostic((), "needs one of: chartPath", "add one")
    assert (problem.file, problem.line) == ("environments/prod/shop/web.yaml", 3)
