"""Promotion's overlay delta: what the target environment's overlay must hold so that it
runs the source's chart and configValues, through the overlay rule. Pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconciler.release_requests.overlay import merge_overlay
from reconciler.release_requests.promotion import (
    MISSING,
    PROMOTED_FIELDS,
    is_empty_overlay,
    overlay_delta,
    promoted_fields_differ,
    promoted_overlay,
)
from reconciler.types import JsonObject

BASE: JsonObject = {
    "apiVersion": "harmonia.dev/v1alpha1",
    "kind": "Release",
    "name": "web",
    "namespace": "shop",
    "repoName": "stable",
    "chartName": "web",
    "chartVersion": "1.0.0",
    "configValues": {"replicas": 1, "image": {"tag": "1.0", "pullPolicy": "Always"}, "debug": True},
    "timeoutSec": 300,
}


def test_a_chart_version_and_a_value_staging_changed_are_what_prods_overlay_gains() -> None:
    staging = {"chartVersion": "1.1.0", "configValues": {"image": {"tag": "1.1"}}}
    prod = {"configValues": {"replicas": 3}, "paused": True}

    after = promoted_overlay(BASE, staging, prod)

    assert after == {
        "configValues": {"image": {"tag": "1.1"}},
        "paused": True,
        "chartVersion": "1.1.0",
    }


def test_prods_own_value_of_a_promoted_field_gives_way_to_stagings() -> None:
    """configValues are promoted whole: prod's replicas become staging's (the base's)."""
    after = promoted_overlay(BASE, {}, {"configValues": {"replicas": 3}, "timeoutSec": 600})

    assert after == {"timeoutSec": 600}
    assert is_empty_overlay({"apiVersion": "harmonia.dev/v1alpha1", "kind": "ReleaseOverlay"})
    assert not is_empty_overlay({"absent": True})


def test_a_value_staging_deleted_is_deleted_in_prod_with_a_null() -> None:
    after = promoted_overlay(BASE, {"configValues": {"debug": None}}, None)

    assert after == {"configValues": {"debug": None}}


def test_a_switched_chart_source_is_promoted_with_nulls_for_the_old_one() -> None:
    staging = {
        "chartImage": "oci://registry/web:2.0",
        "repoName": None,
        "chartName": None,
        "chartVersion": None,
    }

    after = promoted_overlay(BASE, staging, {})

    assert after == {
        "repoName": None,
        "chartName": None,
        "chartVersion": None,
        "chartImage": "oci://registry/web:2.0",
    }


def test_fields_other_than_chart_and_configvalues_are_not_promoted() -> None:
    staging = {"paused": True, "timeoutSec": 900, "valuesFiles": ["staging.yaml"]}
    prod = {"timeoutSec": 600}

    assert promoted_overlay(BASE, staging, prod) == prod
    wanted = merge_overlay(BASE, staging)
    current = merge_overlay(BASE, prod)
    assert wanted is not None and current is not None
    assert promoted_fields_differ(wanted, current) == ()


def test_equal_values_need_no_overlay_and_lists_replace_whole() -> None:
    assert overlay_delta([1, 2], [1, 2]) is MISSING
    assert overlay_delta([1, 2], [2]) == [2]
    assert overlay_delta(MISSING, {"a": 1}) == {"a": 1}
    assert overlay_delta({"a": 1}, MISSING) is None


_NO_NULL_VALUES = st.dictionaries(
    st.sampled_from("abc"),
    st.recursive(
        st.booleans() | st.integers(),
        lambda inner: st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
        max_leaves=6,
    ),
    max_size=3,
)


@given(staging_values=_NO_NULL_VALUES, prod_values=_NO_NULL_VALUES, base_values=_NO_NULL_VALUES)
def test_after_promotion_prod_runs_stagings_promoted_fields_and_keeps_its_others(
    staging_values: JsonObject, prod_values: JsonObject, base_values: JsonObject
) -> None:
    base = {**BASE, "configValues": base_values}
    staging = {"configValues": staging_values, "chartVersion": "2.0.0"}
    prod = {"configValues": prod_values, "timeoutSec": 600}

    after = merge_overlay(base, promoted_overlay(base, staging, prod))
    wanted = merge_overlay(base, staging)

    assert after is not None and wanted is not None
    assert all(after.get(field) == wanted.get(field) for field in PROMOTED_FIELDS)
    assert after["timeoutSec"] == 600
