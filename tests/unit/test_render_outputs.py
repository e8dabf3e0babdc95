"""Outputs: the rendered ReleaseConfig taken out of the manifests and read as a flat map."""

from __future__ import annotations

import copy

import pytest

from reconciler.render.model import KubeObject, RenderError
from reconciler.render.outputs import extract_outputs
from reconciler.types import JsonValue

SERVICE: KubeObject = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "zk"}}


def release_config(api_version: str, output_config: JsonValue, name: str = "zk") -> KubeObject:
    return {
        "apiVersion": api_version,
        "kind": "ReleaseConfig",
        "metadata": {"name": name, "namespace": "streaming"},
        "spec": {"outputConfig": output_config},
    }


@pytest.mark.parametrize(
    "api_version", ["apiextensions.transwarp.io/v1beta1", "harmonia.dev/v1alpha1"]
)
def test_the_release_config_is_taken_out_and_its_output_config_becomes_the_outputs(
    api_version: str,
) -> None:
    objects = [SERVICE, release_config(api_version, {"port": 2181, "hosts": "zk-0", "tls": False})]
    remaining, outputs = extract_outputs(objects)
    assert remaining == (SERVICE,)
    assert outputs == {"hosts": "zk-0", "port": 2181, "tls": False}
    assert list(outputs) == ["hosts", "port", "tls"]


def test_no_release_config_means_no_outputs() -> None:
    assert extract_outputs([SERVICE]) == ((SERVICE,), {})


@pytest.mark.parametrize("spec", [{}, {"outputConfig": None}, None])
def test_a_release_config_without_output_config_publishes_nothing(spec: JsonValue) -> None:
    obj: KubeObject = {"apiVersion": "harmonia.dev/v1alpha1", "kind": "ReleaseConfig", "spec": spec}
    assert extract_outputs([obj]) == ((), {})


def test_extracting_outputs_does_not_change_the_objects() -> None:
    objects = [SERVICE, release_config("harmonia.dev/v1alpha1", {"a": "b"})]
    before = copy.deepcopy(objects)
    extract_outputs(objects)
    assert objects == before


def test_a_release_config_of_another_group_is_left_as_an_object() -> None:
    other = release_config("example.com/v1", {"a": "b"})
    assert extract_outputs([other]) == ((other,), {})


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (
            [
                release_config("harmonia.dev/v1alpha1", {"a": 1}, name="one"),
                release_config("apiextensions.transwarp.io/v1beta1", {"b": 1}, name="two"),
            ],
            "2 ReleaseConfig objects rendered (ReleaseConfig/streaming/one, "
            "ReleaseConfig/streaming/two); a release has one",
        ),
        (
            [release_config("harmonia.dev/v1alpha1", {"nested": {"a": 1}})],
            "ReleaseConfig/streaming/zk: spec.outputConfig.nested: outputs are a flat map",
        ),
        (
            [release_config("harmonia.dev/v1alpha1", {"hosts": ["a", "b"]})],
            "ReleaseConfig/streaming/zk: spec.outputConfig.hosts: outputs are a flat map",
        ),
        (
            [release_config("harmonia.dev/v1alpha1", {"empty": None})],
            "spec.outputConfig.empty: has no value",
        ),
        (
            [release_config("harmonia.dev/v1alpha1", {"nan": float("nan")})],
            "spec.outputConfig.nan: nan is not a finite number",
        ),
        (
            [release_config("harmonia.dev/v1alpha1", ["a"])],
            "ReleaseConfig/streaming/zk: spec.outputConfig must be a mapping",
        ),
        (
            [release_config("harmonia.dev/v2", {"a": 1})],
            "ReleaseConfig/streaming/zk: apiVersion harmonia.dev/v2 is not supported",
        ),
    ],
)
def test_a_bad_release_config_is_an_error_naming_it(
    objects: list[KubeObject], message: str
) -> None:
    with pytest.raises(RenderError) as error:
        extract_outputs(objects)
    assert message in str(error.value)
