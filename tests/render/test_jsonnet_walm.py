"""WALM's Jsonnet charts: the layout WALM evaluated them in, its injected values, its
`values.yaml` and `config.jsonnet` defaults, and imports confined to that layout.

The charts are tests/fixtures/charts/walm-* (written for these tests in the layout of
WALM's published charts) and copies of them changed by a test; the common library is
tests/fixtures/jsonnet-lib, standing in for ksonnet-lib.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from reconciler.render.jsonnet.walm import is_walm_chart, main_file_candidates, render_walm_jsonnet
from reconciler.render.model import ChartKind, ChartOutput, RenderEnvironment, RenderError
from reconciler.types import JsonObject
from tests.render.test_jsonnet import (
    CHARTS,
    LIBRARY,
    environment,
    loose,
    names,
    release_values,
    resolved,
)

ZOOKEEPER = CHARTS / "walm-zookeeper"
LEGACY = CHARTS / "walm-legacy"
ZK_SUBJECT = "release streaming/zk: chart zookeeper 6.1.0"
FUNCTION = "function(config={}) if x == '' then {} else"


def render_walm(
    root: Path,
    *,
    config: JsonObject | None = None,
    env: RenderEnvironment | None = None,
    defaults: bool = True,
) -> ChartOutput:
    chart = resolved(root, ChartKind.WALM_JSONNET)
    # defaults=False: as if the values had come without the chart's values.yaml.
    basis = chart if defaults else dataclasses.replace(chart, default_values={})
    values = release_values(basis, name="zk", namespace="streaming", config=config)
    return render_walm_jsonnet(
        chart, release_name="zk", namespace="streaming", values=values, env=env or environment()
    )


def walm_error(root: Path, *, env: RenderEnvironment | None = None) -> str:
    with pytest.raises(RenderError) as caught:
        render_walm(root, env=env)
    return str(caught.value)


def by_file(output: ChartOutput) -> dict[tuple[str, str], Any]:
    """The objects by (kind, name), untyped to read nested fields in assertions."""
    return {(item["kind"], item["metadata"]["name"]): item for item in loose(output.objects)}


@pytest.fixture()
def zookeeper_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "zookeeper"
    shutil.copytree(ZOOKEEPER, copy, symlinks=True)
    return copy


def test_a_walm_chart_renders_with_applib_and_the_common_library_where_walm_put_them() -> None:
    output = render_walm(ZOOKEEPER)
    # WALM's main file returns file name -> object: objects come sorted by file name.
    assert names(output.objects) == [
        ("ConfigMap", "zk-injected"),
        ("ReleaseConfig", "zk"),
        ("ConfigMap", "zk-zookeeper"),
        ("Service", "zk-zookeeper-hl"),
        ("StatefulSet", "zk-zookeeper"),
    ]
    objects = by_file(output)
    release_config = objects[("ReleaseConfig", "zk")]
    assert release_config["apiVersion"] == "apiextensions.transwarp.io/v1beta1"
    assert release_config["spec"] == {
        "outputConfig": {
            "zookeeper_addresses": ",".join(
                f"zk-zookeeper-{n}.zk-zookeeper-hl.streaming.svc:2181" for n in range(3)
            ),
            "zookeeper_port": "2181",
        }
    }
    statefulset = objects[("StatefulSet", "zk-zookeeper")]
    assert statefulset["metadata"]["labels"]["tier"] == "coordination"
    assert objects[("Service", "zk-zookeeper-hl")]["spec"]["clusterIP"] == "None"


def test_load_config_files_reads_the_charts_files_in_walms_layout() -> None:
    objects = by_file(render_walm(ZOOKEEPER))
    data = objects[("ConfigMap", "zk-zookeeper")]["data"]
    assert data["log4j.properties"].startswith("log4j.rootLogger=INFO")
    assert "server.2=zk-zookeeper-2.zk-zookeeper-hl.streaming.svc:2181" in data["zoo.cfg"]
    template = objects[("StatefulSet", "zk-zookeeper")]["spec"]["template"]
    assert len(template["metadata"]["annotations"]["transwarp/configmap.md5"]) == 32
    assert template["spec"]["volumes"][0]["configMap"]["items"] == [
        {"key": "zoo.cfg", "path": "", "mode": 420},
        {"key": "log4j.properties", "path": "", "mode": 420},
    ]


def test_the_chart_receives_the_values_walm_injected() -> None:
    injected = by_file(render_walm(ZOOKEEPER))[("ConfigMap", "zk-injected")]["data"]
    seen = {key: json.loads(value) for key, value in injected.items()}
    assert seen == {
        "helmReleaseName": "zk",
        "helmReleaseNamespace": "streaming",
        "chartName": "zookeeper",
        "chartVersion": "6.1.0",
        "chartAppVersion": "6.1",
        "Transwarp_Install_Namespace": "streaming",
        "Customized_Namespace": "streaming",
        "HelmAdditionalValues": {
            "dependencies": {"zookeeper": "streaming/zookeeper"},
            "HelmNativeValues": {
                "chartName": "zookeeper",
                "chartVersion": "6.1.0",
                "appVersion": "6.1",
                "releaseName": "zk",
                "releaseNamespace": "streaming",
            },
        },
    }


def test_config_values_override_the_values_yaml_walm_placed_beside_template_jsonnet() -> None:
    statefulset = by_file(
        render_walm(ZOOKEEPER, config={"appConfig": {"zookeeper": {"replicas": 5}}})
    )[("StatefulSet", "zk-zookeeper")]
    assert statefulset["spec"]["replicas"] == 5
    assert statefulset["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "docker.io/library/zookeeper:3.9"
    )


def test_the_chart_reads_its_defaults_from_values_yaml_even_when_config_lacks_them() -> None:
    output = render_walm(ZOOKEEPER, defaults=False)
    assert by_file(output)[("StatefulSet", "zk-zookeeper")]["spec"]["replicas"] == 3


def test_an_older_chart_takes_its_defaults_from_config_jsonnet() -> None:
    (deployment,) = loose(render_walm(LEGACY).objects)
    assert deployment["metadata"] == {"name": "zk", "namespace": "streaming"}
    assert deployment["spec"]["replicas"] == 2  # values.yaml over config.jsonnet
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "docker.io/library/busybox:1.36"  # from config.jsonnet
    (deployment,) = loose(render_walm(LEGACY, config={"App": {"legacy": {"replicas": 4}}}).objects)
    assert deployment["spec"]["replicas"] == 4
    (deployment,) = loose(render_walm(LEGACY, defaults=False).objects)
    assert deployment["spec"]["replicas"] == 1  # config.jsonnet alone


def test_walm_charts_are_told_apart_from_others() -> None:
    assert is_walm_chart(ZOOKEEPER)
    assert is_walm_chart(LEGACY)
    assert not is_walm_chart(CHARTS / "jsonnet-list")
    assert not is_walm_chart(CHARTS / "helm-common")


def test_entries_of_template_jsonnet_starting_with_underscore_or_dot_are_left_out() -> None:
    # _drafts/old-main.jsonnet is not valid Jsonnet: rendering proves it is never read.
    assert main_file_candidates(ZOOKEEPER) == ["template-jsonnet/zookeeper-main.jsonnet"]
    assert render_walm(ZOOKEEPER).objects


def test_two_main_files_are_refused(zookeeper_copy: Path) -> None:
    (zookeeper_copy / "template-jsonnet" / "other-main.jsonnet").write_text("{}")
    message = walm_error(zookeeper_copy)
    assert message.startswith(ZK_SUBJECT)
    assert "template-jsonnet/other-main.jsonnet, template-jsonnet/zookeeper-main.jsonnet" in message


def test_a_chart_without_app_version_is_refused(zookeeper_copy: Path) -> None:
    chart_yaml = zookeeper_copy / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace('appVersion: "6.1"\n', ""))
    message = walm_error(zookeeper_copy)
    assert message.startswith(ZK_SUBJECT)
    assert "appVersion ''" in message


def test_helm_templates_beside_template_jsonnet_are_refused(zookeeper_copy: Path) -> None:
    (zookeeper_copy / "templates").mkdir()
    (zookeeper_copy / "templates" / "_helpers.tpl").write_text("")
    (zookeeper_copy / "templates" / "service.yaml").write_text("kind: Service\n")
    message = walm_error(zookeeper_copy)
    assert message.startswith(f"{ZK_SUBJECT}: templates/service.yaml: Helm templates beside")


def test_the_common_library_folder_wins_over_a_copy_in_the_charts_applib(
    zookeeper_copy: Path,
) -> None:
    stale = zookeeper_copy / "applib" / "ksonnet-lib" / "ksonnet.beta.2" / "k.libsonnet"
    stale.parent.mkdir(parents=True)
    stale.write_text("error 'the stale copy was read'")
    assert render_walm(zookeeper_copy).objects
    message = walm_error(zookeeper_copy, env=environment(library_dirs=()))
    assert message.startswith(f"{ZK_SUBJECT}: applib/ksonnet-lib/ksonnet.beta.2/k.libsonnet:1: ")


def test_without_the_common_library_the_import_names_file_line_and_path(
    zookeeper_copy: Path,
) -> None:
    message = walm_error(zookeeper_copy, env=environment(library_dirs=()))
    main = "template-jsonnet/zookeeper-main.jsonnet"
    assert message.startswith(f"{ZK_SUBJECT}: {main}:5: RUNTIME ERROR: couldn't open import ")
    assert '"../../../applib/ksonnet-lib/ksonnet.beta.2/k.libsonnet"' in message
    assert "no such file in the chart or its library folders" in message


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../../../../etc/passwd", "it leads outside the chart and its library folders"),
        ("../../../etc/passwd", "no such file in the chart or its library folders"),
        ("/etc/passwd", "an absolute path"),
        ("../../../Chart.yaml", "no such file in the chart or its library folders"),
    ],
)
def test_imports_stay_inside_walms_layout(zookeeper_copy: Path, path: str, reason: str) -> None:
    main = zookeeper_copy / "template-jsonnet" / "zookeeper-main.jsonnet"
    reading = f"local x = importstr '{path}';"
    main.write_text(main.read_text().replace("function(config={})", f"{reading}\n{FUNCTION}"))
    line = main.read_text().splitlines().index(reading) + 1
    message = walm_error(zookeeper_copy)
    assert message.startswith(f"{ZK_SUBJECT}: template-jsonnet/zookeeper-main.jsonnet:{line}: ")
    assert f'"{path}"' in message
    assert reason in message


def test_a_link_out_of_the_chart_is_refused_and_a_link_inside_it_followed(
    zookeeper_copy: Path, tmp_path: Path
) -> None:
    # A link inside the chart reads as a copy at the link's place, as in WALM's layout.
    log4j = zookeeper_copy / "template-jsonnet" / "files" / "log4j.properties"
    log4j.rename(zookeeper_copy / "applib" / "log4j.properties")
    log4j.symlink_to(zookeeper_copy / "applib" / "log4j.properties")
    data = by_file(render_walm(zookeeper_copy))[("ConfigMap", "zk-zookeeper")]["data"]
    assert data["log4j.properties"].startswith("log4j.rootLogger")

    (tmp_path / "secret.txt").write_text("host file")
    (zookeeper_copy / "applib" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    main = zookeeper_copy / "template-jsonnet" / "zookeeper-main.jsonnet"
    forced = "local leak = importstr '../../../applib/leak.txt';\nassert leak != '';\n"
    main.write_text(forced + main.read_text())
    message = walm_error(zookeeper_copy)
    assert message.startswith(f"{ZK_SUBJECT}: template-jsonnet/zookeeper-main.jsonnet:1: ")
    assert "applib/leak.txt is a symbolic link leading outside the chart" in message
    assert "host file" not in message


def test_load_config_files_cannot_leave_the_layout(zookeeper_copy: Path) -> None:
    main = zookeeper_copy / "template-jsonnet" / "zookeeper-main.jsonnet"
    source = main.read_text()
    main.write_text(source.replace("'files/log4j.properties'", "'../../../../etc/passwd'"))
    message = walm_error(zookeeper_copy)
    assert message.startswith(f"{ZK_SUBJECT}: template-jsonnet/zookeeper-main.jsonnet:")
    assert "loadConfigFiles: fileLocation '../../../../etc/passwd': it leads outside" in message


def test_a_jsonnet_error_names_the_charts_file_not_walms_virtual_path(zookeeper_copy: Path) -> None:
    module = zookeeper_copy / "template-jsonnet" / "zookeeper.jsonnet"
    source = module.read_text()
    module.write_text(source.replace("zookeeper.image,", "zookeeper.nope,"))
    message = walm_error(zookeeper_copy)
    first = message.splitlines()[0]
    assert first.startswith(f"{ZK_SUBJECT}: template-jsonnet/zookeeper.jsonnet:")
    assert "RUNTIME ERROR: field does not exist: nope" in first
    assert "zk/6.1/" not in message


@pytest.mark.parametrize("chart", [ZOOKEEPER, LEGACY])
def test_rendering_twice_gives_byte_identical_objects(chart: Path) -> None:
    assert json.dumps(render_walm(chart).objects) == json.dumps(render_walm(chart).objects)


def test_the_first_library_folder_wins(tmp_path: Path) -> None:
    other = tmp_path / "other-lib"
    (other / "ksonnet.beta.2").mkdir(parents=True)
    (other / "ksonnet.beta.2" / "k.libsonnet").write_text("error 'the second folder was read'")
    assert render_walm(ZOOKEEPER, env=environment(library_dirs=(LIBRARY, other))).objects
    message = walm_error(ZOOKEEPER, env=environment(library_dirs=(other, LIBRARY)))
    assert message.startswith(f"{ZK_SUBJECT}: other-lib/ksonnet.beta.2/k.libsonnet:1: ")


def test_folders_linked_out_of_the_chart_are_refused_before_their_files_are_listed(
    zookeeper_copy: Path, tmp_path: Path
) -> None:
    marker = f"host-only-{uuid.uuid4().hex}"
    host = tmp_path / "host"
    host.mkdir()
    (host / f"{marker}.yaml").write_text("kind: Service\n")
    (host / f"{marker}-main.jsonnet").write_text("{}")
    (zookeeper_copy / "templates").symlink_to(host)
    message = walm_error(zookeeper_copy)
    assert message == f"{ZK_SUBJECT}: templates is a symbolic link leading outside the chart"

    shutil.rmtree(zookeeper_copy / "template-jsonnet")
    (zookeeper_copy / "template-jsonnet").symlink_to(host)
    assert main_file_candidates(zookeeper_copy) == []
    assert not is_walm_chart(zookeeper_copy)
