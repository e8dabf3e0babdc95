"""Values precedence, deep merge, reserved keys and dependency outputs: pure, no chart."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.render.values.merge import (
    RESERVED_KEYS,
    ReleaseIdentity,
    compute_values,
    deep_merge,
    inject_dependency_outputs,
    overridden_reserved_keys,
    reserved_values,
)
from reconciler.render.values.metainfo import ChartMetaInfo, MetaInfoDependency
from reconciler.types import JsonObject, JsonValue

IDENTITY = ReleaseIdentity(
    name="kafka",
    namespace="streaming",
    chart_name="kafka",
    chart_version="1.0.0",
    chart_app_version="3.7",
    dependencies={"zookeeper": "streaming/zookeeper"},
)
LEVELS = ("chart", "file1", "file2", "dependency", "config", "metainfo")


def values_with_every_level(level_values: dict[str, JsonObject]) -> JsonObject:
    return compute_values(
        chart_defaults=level_values.get("chart", {}),
        values_files=[level_values.get("file1", {}), level_values.get("file2", {})],
        dependency_outputs=level_values.get("dependency", {}),
        config_values=level_values.get("config", {}),
        meta_info_values=level_values.get("metainfo", {}),
        reserved=level_values.get("reserved", {}),
    )


@pytest.mark.parametrize("highest", range(len(LEVELS)))
def test_the_highest_level_that_sets_a_key_wins(highest: int) -> None:
    levels: dict[str, JsonObject] = {level: {"key": level} for level in LEVELS[: highest + 1]}
    assert values_with_every_level(levels)["key"] == LEVELS[highest]


def test_each_level_keeps_the_keys_the_levels_above_it_leave_alone() -> None:
    levels: dict[str, JsonObject] = {
        level: {"shared": {level: True}, "top": level} for level in LEVELS
    }
    merged = values_with_every_level(levels)
    assert merged["shared"] == {level: True for level in LEVELS}
    assert merged["top"] == "metainfo"


def test_values_files_apply_in_their_order() -> None:
    merged = compute_values(
        chart_defaults={},
        values_files=[{"a": 1, "b": 1}, {"b": 2}],
        dependency_outputs={},
        config_values={},
        meta_info_values={},
        reserved={},
    )
    assert merged == {"a": 1, "b": 2}


def test_maps_merge_deeply_while_lists_and_scalars_are_replaced() -> None:
    base: JsonObject = {"map": {"keep": 1, "change": 1, "inner": {"a": 1}}, "list": [1, 2, 3]}
    override: JsonObject = {"map": {"change": 2, "inner": {"b": 2}}, "list": [9]}
    assert deep_merge(base, override) == {
        "map": {"keep": 1, "change": 2, "inner": {"a": 1, "b": 2}},
        "list": [9],
    }


def test_a_map_replaces_a_scalar_and_a_scalar_replaces_a_map() -> None:
    assert deep_merge({"a": 1, "b": {"x": 1}}, {"a": {"y": 2}, "b": 3}) == {"a": {"y": 2}, "b": 3}


def test_a_null_override_replaces_the_default_so_helm_can_drop_it() -> None:
    assert deep_merge({"a": {"x": 1}}, {"a": None}) == {"a": None}


def test_reserved_keys_cannot_be_overridden_by_any_level() -> None:
    attempt: JsonObject = {key: "user" for key in RESERVED_KEYS}
    levels: dict[str, JsonObject] = {level: dict(attempt) for level in LEVELS}
    levels["reserved"] = reserved_values(IDENTITY)
    merged = values_with_every_level(levels)
    assert merged["helmReleaseName"] == "kafka"
    assert merged["helmReleaseNamespace"] == "streaming"
    assert merged["chartName"] == "kafka"
    assert merged["chartVersion"] == "1.0.0"
    assert merged["chartAppVersion"] == "3.7"
    assert merged["Transwarp_Install_Namespace"] == "streaming"
    assert merged["Customized_Namespace"] == "streaming"
    assert merged["HelmAdditionalValues"] == {
        "dependencies": {"zookeeper": "streaming/zookeeper"},
        "HelmNativeValues": {
            "chartName": "kafka",
            "chartVersion": "1.0.0",
            "appVersion": "3.7",
            "releaseName": "kafka",
            "releaseNamespace": "streaming",
        },
    }


def test_reserved_values_hold_every_reserved_key_and_nothing_else() -> None:
    assert tuple(reserved_values(IDENTITY)) == RESERVED_KEYS


def test_a_user_nested_value_under_a_reserved_key_does_not_survive() -> None:
    levels: dict[str, JsonObject] = {
        "config": {"HelmAdditionalValues": {"extra": 1, "HelmNativeValues": {"x": 1}}},
        "reserved": reserved_values(IDENTITY),
    }
    merged = values_with_every_level(levels)
    assert merged["HelmAdditionalValues"] == reserved_values(IDENTITY)["HelmAdditionalValues"]


def test_overridden_reserved_keys_names_what_the_user_tried_to_set() -> None:
    reserved = reserved_values(IDENTITY)
    assert overridden_reserved_keys({"chartName": "x", "other": 1}, reserved) == ("chartName",)
    assert overridden_reserved_keys({"other": 1}, reserved) == ()


def test_helm_charts_get_no_reserved_keys() -> None:
    merged = values_with_every_level({"config": {"a": 1}})
    assert merged == {"a": 1}


def test_outputs_go_under_the_alias_config_var_the_metainfo_names() -> None:
    metainfo = ChartMetaInfo(
        dependencies=(
            MetaInfoDependency(
                name="zookeeper", chart_name="zookeeper", alias_config_var="ZK_CONFIG"
            ),
        )
    )
    injected = inject_dependency_outputs(
        {"zookeeper": {"zookeeper_port": 2181, "zookeeper_addresses": "zk-0:2181"}},
        metainfo=metainfo,
    )
    assert injected == {"ZK_CONFIG": {"zookeeper_addresses": "zk-0:2181", "zookeeper_port": 2181}}


def test_outputs_go_under_dependencies_alias_when_the_metainfo_names_no_key() -> None:
    metainfo = ChartMetaInfo(
        dependencies=(MetaInfoDependency(name="zookeeper", chart_name="zookeeper"),)
    )
    injected = inject_dependency_outputs(
        {"zookeeper": {"port": 2181}, "db": {"url": "pg"}}, metainfo=metainfo
    )
    assert injected == {"dependencies": {"db": {"url": "pg"}, "zookeeper": {"port": 2181}}}


def test_outputs_match_the_metainfo_dependency_by_name_not_by_chart_name() -> None:
    metainfo = ChartMetaInfo(
        dependencies=(MetaInfoDependency(name="zk", chart_name="zookeeper", alias_config_var="ZK"),)
    )
    injected = inject_dependency_outputs({"zookeeper": {"port": 1}}, metainfo=metainfo)
    assert injected == {"dependencies": {"zookeeper": {"port": 1}}}


def test_outputs_of_a_chart_without_metainfo_go_under_dependencies() -> None:
    assert inject_dependency_outputs({"zk": {"a": 1}}, metainfo=None) == {
        "dependencies": {"zk": {"a": 1}}
    }


def test_no_dependencies_inject_nothing() -> None:
    assert inject_dependency_outputs({}, metainfo=None) == {}


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from("abcd"), children, max_size=3)
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(st.sampled_from("abcde"), json_values, max_size=4)


@given(json_objects)
def test_merging_with_nothing_changes_nothing(values: JsonObject) -> None:
    assert deep_merge(values, {}) == values
    assert deep_merge({}, values) == values


@given(json_objects)
def test_merging_values_with_themselves_gives_them_back(values: JsonObject) -> None:
    assert deep_merge(values, values) == values


@given(json_objects, json_objects)
def test_merging_the_same_override_twice_changes_nothing_more(
    base: JsonObject, override: JsonObject
) -> None:
    once = deep_merge(base, override)
    assert deep_merge(once, override) == once


@given(json_objects, json_objects)
def test_every_key_of_either_side_is_kept(base: JsonObject, override: JsonObject) -> None:
    assert set(deep_merge(base, override)) == set(base) | set(override)


@given(json_objects, json_objects)
def test_every_key_of_the_override_that_is_not_a_map_wins(
    base: JsonObject, override: JsonObject
) -> None:
    merged = deep_merge(base, override)
    for key, value in override.items():
        if not (isinstance(value, dict) and isinstance(base.get(key), dict)):
            assert merged[key] == value


@given(json_objects, json_objects)
def test_merging_never_changes_its_inputs_nor_shares_with_them(
    base: JsonObject, override: JsonObject
) -> None:
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)
    merged = deep_merge(base, override)
    _scribble(merged)
    assert base == base_before
    assert override == override_before


def _scribble(value: JsonValue) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _scribble(item)
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            _scribble(item)
        value.append("scribbled")
