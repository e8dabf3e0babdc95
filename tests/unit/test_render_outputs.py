"""Outputs: the rendered ReleaseConfig taken out of the manifests and read as a flat map,
and WALM's older dummy Service read the same way."""

from __future__ import annotations

import copy
import json

import pytest

from reconciler.render.model import DependedRelease, KubeObject, RenderError
from reconciler.render.values.outputs import extract_outputs, published_release
from reconciler.types import JsonValue, ReleaseKey

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


# --- WALM's older charts: the dummy Service -----------------------------------------------


def dummy_service(
    meta: JsonValue, *, name: str = "dummy-zk", labels: dict[str, str] | None = None
) -> KubeObject:
    """A dummy Service as WALM's older charts rendered it (applib's DummyService)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": "streaming",
            "labels": labels
            if labels is not None
            else {"transwarp.meta": "true", "transwarp.name": "app-dummy", "release": "zk"},
            "annotations": {"transwarp.meta": meta if isinstance(meta, str) else json.dumps(meta)},
        },
        "spec": {"clusterIP": "None", "ports": [{"name": "dummy", "port": 5000}]},
    }


ZOOKEEPER_OUTPUTS = {"zookeeper_addresses": "zk-0.zk-hl:2181", "zookeeper_port": "2181"}


@pytest.mark.parametrize(
    "meta",
    [
        ZOOKEEPER_OUTPUTS,
        {"provides": {"ZOOKEEPER_CLIENT_CONFIG": {"immediate_value": ZOOKEEPER_OUTPUTS}}},
    ],
    ids=["flat outputs", "v1 provides"],
)
def test_a_dummy_services_annotation_is_read_like_a_release_config_and_the_service_stays(
    meta: JsonValue,
) -> None:
    service = dummy_service(meta)
    remaining, outputs = extract_outputs([SERVICE, service])
    assert remaining == (SERVICE, service)
    assert outputs == ZOOKEEPER_OUTPUTS


def test_a_walm_release_config_holding_v1_provides_gives_the_provided_value() -> None:
    provides = {"provides": {"ZOOKEEPER_CLIENT_CONFIG": {"immediate_value": ZOOKEEPER_OUTPUTS}}}
    objects = [release_config("apiextensions.transwarp.io/v1beta1", provides)]
    assert extract_outputs(objects) == ((), ZOOKEEPER_OUTPUTS)


@pytest.mark.parametrize(
    "labels",
    [{}, {"transwarp.meta": "false"}, {"release": "zk"}],
    ids=["no labels", "meta false", "release only"],
)
def test_a_service_without_the_transwarp_meta_label_publishes_nothing(
    labels: dict[str, str],
) -> None:
    service = dummy_service(ZOOKEEPER_OUTPUTS, labels=labels)
    assert extract_outputs([service]) == ((service,), {})


def test_a_dummy_service_with_an_empty_annotation_publishes_nothing() -> None:
    service = dummy_service("  ")
    assert extract_outputs([service]) == ((service,), {})


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        (
            [dummy_service("{not json")],
            "Service/streaming/dummy-zk: annotation transwarp.meta is not JSON",
        ),
        (
            [dummy_service(["a"])],
            "Service/streaming/dummy-zk: annotation transwarp.meta must be a mapping",
        ),
        (
            [dummy_service({"nested": {"a": 1}})],
            "Service/streaming/dummy-zk: annotation transwarp.meta.nested: outputs are a flat map",
        ),
        (
            [dummy_service({"provides": {"A": {"immediate_value": {}}, "B": {}}})],
            "annotation transwarp.meta.provides: 2 provides (A, B); Harmonia reads one flat map",
        ),
        (
            [dummy_service({"provides": {"A": {"resource_type": "Service", "key": "x"}}})],
            "annotation transwarp.meta.provides.A: only an immediate_value mapping can be read",
        ),
        (
            [dummy_service(ZOOKEEPER_OUTPUTS), dummy_service(ZOOKEEPER_OUTPUTS, name="other")],
            "Service/streaming/dummy-zk, Service/streaming/other all publish outputs",
        ),
        (
            [release_config("harmonia.dev/v1alpha1", {"a": 1}), dummy_service(ZOOKEEPER_OUTPUTS)],
            "ReleaseConfig/streaming/zk, Service/streaming/dummy-zk all publish outputs; a "
            "release publishes them once",
        ),
    ],
)
def test_a_bad_or_second_dummy_service_is_an_error_naming_it(
    objects: list[KubeObject], message: str
) -> None:
    with pytest.raises(RenderError) as error:
        extract_outputs(objects)
    assert message in str(error.value)


def test_a_live_release_config_says_its_chart() -> None:
    live = release_config("apiextensions.transwarp.io/v1beta1", ZOOKEEPER_OUTPUTS)
    live["spec"]["chartName"] = "zookeeper"  # type: ignore[index, call-overload]
    live["spec"]["chartVersion"] = "6.1.0"  # type: ignore[index, call-overload]
    found = published_release(live, ReleaseKey("streaming/zk"))
    assert found == DependedRelease(
        ReleaseKey("streaming/zk"), ZOOKEEPER_OUTPUTS, "zookeeper", "6.1.0"
    )


def test_a_live_dummy_service_says_its_chart_by_label_and_no_version() -> None:
    labels = {"transwarp.meta": "true", "release": "zk", "chart": "zookeeper"}
    found = published_release(
        dummy_service(ZOOKEEPER_OUTPUTS, labels=labels), ReleaseKey("streaming/zk")
    )
    assert (found.outputs, found.chart_name, found.chart_version) == (
        ZOOKEEPER_OUTPUTS,
        "zookeeper",
        "",
    )
