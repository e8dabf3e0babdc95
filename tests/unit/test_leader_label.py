"""The leader label's pure parts: which pod the downward API names, the merge patches that
set and remove the label, and whether a pod carries it."""

from __future__ import annotations

import pytest

from reconciler.loop.leader_label import (
    LEADER_LABEL,
    OwnPod,
    carries_leader_label,
    label_patch,
    own_pod,
    pod_reference,
)
from reconciler.types import JsonObject


def test_the_pod_is_the_one_pod_name_and_pod_namespace_name() -> None:
    pod = own_pod({"POD_NAME": "harmonia-7d9f-abcde", "POD_NAMESPACE": "harmonia-system"})
    assert pod == OwnPod("harmonia-system", "harmonia-7d9f-abcde")
    assert pod.subject == "Pod/harmonia-system/harmonia-7d9f-abcde"
    assert pod_reference(pod) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": "harmonia-system", "name": "harmonia-7d9f-abcde"},
    }


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"POD_NAMESPACE": "harmonia-system"},
        {"POD_NAME": "harmonia-7d9f-abcde"},
        {"POD_NAME": " ", "POD_NAMESPACE": "harmonia-system"},
    ],
    ids=["neither", "namespace-alone", "name-alone", "blank-name"],
)
def test_without_both_variables_there_is_no_pod_to_label(environ: dict[str, str]) -> None:
    assert own_pod(environ) is None


def test_the_patches_set_and_remove_the_label_alone() -> None:
    assert label_patch(leading=True) == {"metadata": {"labels": {LEADER_LABEL: "true"}}}
    # A merge patch removes a key given null, and leaves every other label as it is.
    assert label_patch(leading=False) == {"metadata": {"labels": {LEADER_LABEL: None}}}


@pytest.mark.parametrize(
    ("pod", "carries"),
    [
        ({"metadata": {"labels": {LEADER_LABEL: "true", "app": "harmonia"}}}, True),
        ({"metadata": {"labels": {LEADER_LABEL: "false"}}}, False),
        ({"metadata": {"labels": {"app": "harmonia"}}}, False),
        ({"metadata": {}}, False),
        (None, False),
    ],
)
def test_a_pod_carries_the_label_only_with_the_value_true(
    pod: JsonObject | None, carries: bool
) -> None:
    assert carries_leader_label(pod) is carries
