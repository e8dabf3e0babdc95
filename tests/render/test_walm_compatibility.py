"""WALM's charts through the whole rendering stage: metainfo dependency checks, outputs from
an older chart's dummy Service, `mapKey`/`mapkey` roles, and removed API versions.

The charts are written for the tests in WALM's layout (tests/walm_charts.py); no cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from reconciler.desired import DesiredState, Tools, compute_desired_state
from reconciler.policy import Policy
from reconciler.types import ReleaseKey
from tests.render.test_pipeline import offline_versions, write_repository
from tests.walm_charts import write_kafka_chart, write_walm_chart, write_zookeeper_chart

KAFKA = ReleaseKey("streaming/kafka")
ZOOKEEPER = ReleaseKey("streaming/zk")
HARMONIA_YAML = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\nkubeVersion: v1.36.3\n"
ZOOKEEPER_RELEASE = """\
apiVersion: harmonia.dev/v1alpha1
kind: Release
name: zk
namespace: streaming
chartPath: charts/zookeeper
"""
VERSIONED_MAIN = """\
// Labels its object with the app version, as WALM's published charts' applib does.
function(config={}) {
  'versioned-configmap.json': {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: config.helmReleaseName + '-versioned',
      labels: { 'app.kubernetes.io/version': config.chartAppVersion },
    },
    data: { appVersion: config.HelmAdditionalValues.HelmNativeValues.appVersion },
  },
}
"""
KAFKA_RELEASE = """\
apiVersion: harmonia.dev/v1alpha1
kind: Release
name: kafka
namespace: streaming
chartPath: charts/kafka
dependencies:
  {alias}: zk
"""


def repository(
    root: Path,
    *,
    alias: str = "zookeeper",
    zookeeper_version: str = "6.1.0",
    harmonia_yaml: str = HARMONIA_YAML,
    kafka_extra: str = "",
) -> Path:
    write_zookeeper_chart(root / "charts" / "zookeeper", version=zookeeper_version)
    write_kafka_chart(root / "charts" / "kafka")
    return write_repository(
        root,
        {
            "harmonia.yaml": harmonia_yaml,
            "releases/streaming/zk.yaml": ZOOKEEPER_RELEASE,
            "releases/streaming/kafka.yaml": KAFKA_RELEASE.format(alias=alias) + kafka_extra,
        },
    )


def render(root: Path, helm: Path, *, strict: bool = False, **policy: bool) -> DesiredState:
    tools = Tools(helm=helm, kubectl=None, cache_dir=root.parent / "cache")
    return compute_desired_state(
        root,
        policy=Policy(allowed_namespaces=("*",), strict_dependencies=strict, **policy),
        versions_for=offline_versions,
        tools=tools,
    )


def by_kind(state: DesiredState, key: ReleaseKey) -> dict[str, Any]:
    return {obj["kind"]: obj for obj in state.render.rendered[key].objects}


def test_kafka_reads_zookeepers_outputs_from_the_dummy_service_of_an_older_walm_chart(
    tmp_path: Path, helm_binary: Path
) -> None:
    state = render(repository(tmp_path / "repo"), helm_binary)
    assert not state.render.failed and not state.render.blocked, state.render.failed
    addresses = ",".join(f"zk-zookeeper-{n}.streaming.pod:2181" for n in range(3))
    assert state.render.rendered[ZOOKEEPER].outputs == {
        "zookeeper_addresses": addresses,
        "zookeeper_port": "2181",
    }
    dummy = by_kind(state, ZOOKEEPER)["Service"]
    assert dummy["metadata"]["name"] == "dummy-zk", "the dummy Service is still applied"
    assert dummy["metadata"]["labels"]["harmonia.dev/release-name"] == "zk"
    kafka = by_kind(state, KAFKA)
    assert f"zookeeper.connect={addresses}/kafka" in kafka["ConfigMap"]["data"]["server.properties"]
    assert "ReleaseConfig" not in kafka
    assert state.render.rendered[KAFKA].outputs == {"kafka_bootstrap": "kafka-kafka:9092"}
    assert state.render.rendered[KAFKA].warnings == ()


def test_an_older_charts_removed_api_version_is_converted_with_a_warning(
    tmp_path: Path, helm_binary: Path
) -> None:
    state = render(repository(tmp_path / "repo"), helm_binary)
    deployment = by_kind(state, ZOOKEEPER)["Deployment"]
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["spec"]["selector"] == {
        "matchLabels": {"transwarp.name": "zookeeper", "release": "zk"}
    }
    assert state.render.rendered[ZOOKEEPER].warnings == (
        "Deployment/streaming/zk-zookeeper: apps/v1beta1 is no longer served; converted to apps/v1",
    )


def test_a_cluster_that_still_serves_the_old_version_gets_it_as_written(
    tmp_path: Path, helm_binary: Path
) -> None:
    old_cluster = HARMONIA_YAML.replace("v1.36.3", "v1.15.12") + "apiVersions: [apps/v1beta1]\n"
    state = render(repository(tmp_path / "repo", harmonia_yaml=old_cluster), helm_binary)
    deployment = by_kind(state, ZOOKEEPER)["Deployment"]
    assert deployment["apiVersion"] == "apps/v1beta1"
    assert "selector" not in deployment["spec"]
    assert state.render.rendered[ZOOKEEPER].warnings == ()


def test_meta_info_params_reach_the_walm_chart_through_both_map_key_spellings(
    tmp_path: Path, helm_binary: Path
) -> None:
    params = """\
metaInfoParams:
  params: [{name: retention_hours, value: 24}]
  roles:
    - name: kafka
      baseConfig: {image: "registry.invalid/kafka:4.0", replicas: 3}
      resources: {requestsCpu: 0.5, requestsMemory: 1024}
"""
    state = render(repository(tmp_path / "repo", kafka_extra=params), helm_binary)
    kafka = by_kind(state, KAFKA)
    deployment = kafka["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 3  # mapkey
    assert container["image"] == "registry.invalid/kafka:4.0"  # mapKey
    assert container["resources"] == {"requests": {"cpu": "0.5", "memory": "1024Mi"}}
    assert "log.retention.hours=24" in kafka["ConfigMap"]["data"]["server.properties"]


def test_a_dependency_key_the_metainfo_does_not_declare_fails_only_that_release(
    tmp_path: Path, helm_binary: Path
) -> None:
    state = render(repository(tmp_path / "repo", alias="zk"), helm_binary)
    assert ZOOKEEPER in state.render.rendered
    assert state.render.failed[KAFKA].message == (
        "release streaming/kafka: releases/streaming/kafka.yaml:7:3: dependency key 'zk' is "
        "not declared by chart kafka's metainfo (declared: zookeeper) ($.dependencies.zk) "
        "use a declared name as the key: the chart reads each dependency's outputs under "
        "the name its metainfo gives"
    )


def test_a_zookeeper_outside_the_declared_range_warns_and_fails_when_strict(
    tmp_path: Path, helm_binary: Path
) -> None:
    root = repository(tmp_path / "repo", zookeeper_version="7.0.0")
    lenient = render(root, helm_binary)
    assert lenient.render.rendered[KAFKA].warnings == (
        "release streaming/kafka: dependency 'zookeeper' (streaming/zk): its chart zookeeper "
        "7.0.0 is outside [6.0, 6.2], the versions chart kafka's metainfo declares",
    )
    strict = render(root, helm_binary, strict=True)
    assert KAFKA not in strict.render.rendered
    assert "is outside [6.0, 6.2]" in strict.render.failed[KAFKA].message
    assert ZOOKEEPER in strict.render.rendered


def test_a_removed_version_that_cannot_be_converted_fails_only_its_release(
    tmp_path: Path, helm_binary: Path
) -> None:
    root = repository(tmp_path / "repo")
    crd_chart = root / "charts" / "widgets"
    crd_chart.mkdir(parents=True)
    (crd_chart / "crd.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.com}\nspec: {group: example.com}\n"
    )
    (root / "releases/streaming/widgets.yaml").write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: Release\nname: widgets\n"
        "namespace: streaming\nchartPath: charts/widgets\n"
    )
    state = render(root, helm_binary, allow_cluster_scoped=True)
    message = state.render.failed[ReleaseKey("streaming/widgets")].message
    assert message.startswith(
        "CustomResourceDefinition/widgets.example.com: apiextensions.k8s.io/v1beta1 is no "
        "longer served; apiextensions.k8s.io/v1 needs a structural schema"
    )
    assert {ZOOKEEPER, KAFKA} <= state.render.rendered.keys()


def test_the_cli_prints_the_conversion_warning_on_stderr(tmp_path: Path, helm_binary: Path) -> None:
    root = repository(tmp_path / "repo")
    shown = subprocess.run(
        [sys.executable, "-m", "reconciler", "render", str(root), "--offline", "-r", ZOOKEEPER],
        capture_output=True,
        text=True,
        env={**os.environ, "HARMONIA_HELM": str(helm_binary)},
        timeout=300,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert (
        f"warning: release {ZOOKEEPER}: Deployment/streaming/zk-zookeeper: apps/v1beta1 is no "
        "longer served; converted to apps/v1"
    ) in shown.stderr


def test_a_walm_chart_receives_the_app_version_of_its_chart_yaml_through_a_release_file(
    tmp_path: Path, helm_binary: Path
) -> None:
    root = repository(tmp_path / "repo")
    write_walm_chart(
        root / "charts" / "versioned",
        name="versioned",
        version="1.0.0",
        main=VERSIONED_MAIN,
        values={},
    )
    (root / "releases/streaming/versioned.yaml").write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: Release\nname: versioned\n"
        "namespace: streaming\nchartPath: charts/versioned\n"
    )
    state = render(root, helm_binary)
    configmap = by_kind(state, ReleaseKey("streaming/versioned"))["ConfigMap"]
    assert configmap["metadata"]["labels"]["app.kubernetes.io/version"] == "6.1"
    assert configmap["data"] == {"appVersion": "6.1"}
