"""Chart metainfo reading, and metaInfoParams mapped to values through it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from reconciler.release_requests.model import (
    EnvVar,
    MetaInfoParams,
    MetaParam,
    Plugin,
    RoleBaseConfig,
    RoleConfig,
    RoleResources,
    StorageResource,
)
from reconciler.render.values.merge import cores_text, meta_info_values
from reconciler.render.values.metainfo import (
    ChartMetaInfo,
    MetaInfoError,
    read_metainfo,
    split_map_key,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

METAINFO = """\
friendlyName: Web
dependencies:
  - name: db
    chartName: postgres
    aliasConfigVar: DB_CONFIG
    minVersion: "1.0"
    maxVersion: "2.0"
    dependencyOptional: true
  - name: cache
roles:
  - name: web
    baseConfig:
      image: {mapKey: image}
      priority: {mapKey: priority}
      replicas: {mapkey: web.replicas}
      env: {mapKey: web.env}
      envMap: {mapKey: web.envMap}
      useHostNetwork: {mapKey: web.hostNetwork}
      others:
        - {name: log_level, mapKey: web.logLevel, type: string}
    resources:
      requestsCpu: {mapKey: web.resources.requests.cpu}
      limitsCpu: {mapKey: web.resources.limits.cpu}
      requestsMemory: {mapKey: web.resources.requests.memory}
      limitsMemory: {mapKey: web.resources.limits.memory}
      requestsGpu: {mapKey: web.resources.requests.gpu}
      limitsGpu: {mapKey: web.resources.limits.gpu}
      storageResources:
        - name: data
          mapKey: web.storage.data
          sizeMapKey: web.dataSize
          storageClassMapKey: web.dataClass
          accessModeMapKey: web.dataAccessMode
params:
  - {name: domain, mapKey: ingress.domain, type: string, required: true}
  - {name: dotted, mapKey: 'config.log\\.level'}
plugins:
  - name: LabelPod
    version: "1.0"
    args: '{"labelsToAdd": {"team": "web"}}'
    priority: 5
"""


def write_chart(tmp_path: Path, metainfo: str) -> Path:
    meta = tmp_path / "chart" / "transwarp-meta"
    meta.mkdir(parents=True)
    (meta / "metainfo.yaml").write_text(textwrap.dedent(metainfo))
    return tmp_path / "chart"


@pytest.fixture
def metainfo(tmp_path: Path) -> ChartMetaInfo:
    found = read_metainfo(write_chart(tmp_path, METAINFO))
    assert found is not None
    return found


def test_a_chart_without_a_metainfo_file_has_none(tmp_path: Path) -> None:
    assert read_metainfo(tmp_path) is None


def test_the_example_kafka_metainfo_names_zookeeper_and_its_alias_config_var() -> None:
    found = read_metainfo(EXAMPLES / "charts" / "kafka")
    assert found is not None
    dependency = found.dependency("zookeeper")
    assert dependency is not None
    assert dependency.alias_config_var == "ZOOKEEPER_CLIENT_CONFIG"
    assert dependency.min_version == "1.0.0"
    assert not dependency.optional


def test_metainfo_reads_dependencies_with_walm_defaults(metainfo: ChartMetaInfo) -> None:
    db, cache = metainfo.dependencies
    assert (db.name, db.chart_name, db.alias_config_var, db.optional) == (
        "db",
        "postgres",
        "DB_CONFIG",
        True,
    )
    assert (db.min_version, db.max_version) == ("1.0", "2.0")
    assert (cache.chart_name, cache.alias_config_var) == ("cache", None)


def test_metainfo_accepts_both_map_key_spellings(metainfo: ChartMetaInfo) -> None:
    role = metainfo.role("web")
    assert role is not None
    fields = {field.name: field.path for field in role.base_config}
    assert fields["replicas"] == ("web", "replicas")
    assert fields["image"] == ("image",)


def test_metainfo_splits_escaped_dots_as_literal_dots(metainfo: ChartMetaInfo) -> None:
    assert metainfo.params[1].path == ("config", "log.level")


def test_metainfo_plugin_args_as_json_text_are_parsed(metainfo: ChartMetaInfo) -> None:
    assert metainfo.plugins == (
        Plugin(name="LabelPod", args={"labelsToAdd": {"team": "web"}}, version="1.0", priority=5),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "roles:\n  - name: web\n    baseConfig:\n      replicas: {mapKey: a, mapkey: b}\n",
            "metainfo.yaml:4:37: mapKey and mapkey differ",
        ),
        (
            "roles:\n  - name: web\n    baseConfig:\n      replicas: {type: int}\n",
            "metainfo.yaml:4:17: mapKey is required",
        ),
        ("params:\n  - {name: x, mapKey: 'a.b[0]'}\n", "mapKey 'a.b[0]' has '['"),
        ("params:\n  - {name: x, mapKey: 'a..b'}\n", "has an empty part"),
        ("params:\n  - {mapKey: a}\n", "name is required"),
        ("params: {a: 1}\n", "params must be a list"),
        ("roles:\n  - {name: a}\n  - {name: a}\n", "roles: a declared more than once"),
        ("plugins:\n  - {name: LabelPod, args: '{oops'}\n", "args is not JSON"),
        (
            'plugins:\n  - {name: LabelPod, args: \'{"n": ' + "9" * 5000 + "}'}\n",
            "args is not JSON: a number of thousands of digits",
        ),
        ("plugins:\n  - {name: LabelPod, priority: high}\n", "priority must be an integer"),
        (
            "dependencies:\n  - {name: db, aliasConfigVar: dependencies}\n",
            "aliasConfigVar cannot be 'dependencies'",
        ),
        ("params:\n  - {name: x, mapKey: a, required: maybe}\n", "required must be true or false"),
        ("roles: [\n", "metainfo.yaml:2:1"),
    ],
)
def test_a_bad_metainfo_is_an_error_naming_the_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    chart = write_chart(tmp_path, text)
    shown = "charts/web/transwarp-meta/metainfo.yaml"
    with pytest.raises(MetaInfoError, match=re.escape(shown)) as error:
        read_metainfo(chart, display_name=shown)
    assert message in str(error.value)


def test_metainfo_errors_name_the_file_path_by_default(tmp_path: Path) -> None:
    chart = write_chart(tmp_path, "params: 3\n")
    with pytest.raises(
        MetaInfoError, match=re.escape(str(chart / "transwarp-meta" / "metainfo.yaml"))
    ):
        read_metainfo(chart)


@pytest.mark.parametrize(
    ("map_key", "parts"),
    [
        ("a", ("a",)),
        ("a.b.c", ("a", "b", "c")),
        ("a\\.b.c", ("a.b", "c")),
        ("servers.0", ("servers", "0")),
    ],
)
def test_split_map_key_gives_the_map_keys(map_key: str, parts: tuple[str, ...]) -> None:
    assert split_map_key(map_key) == parts


@pytest.mark.parametrize("map_key", ["", ".a", "a.", "a..b", "a[0]", "a.*", "a|b", "a.#"])
def test_split_map_key_explains_a_map_key_it_cannot_use(map_key: str) -> None:
    assert isinstance(split_map_key(map_key), str)


def test_every_role_field_is_written_at_its_map_key_in_walm_units(
    metainfo: ChartMetaInfo,
) -> None:
    params = MetaInfoParams(
        roles=(
            RoleConfig(
                name="web",
                base_config=RoleBaseConfig(
                    image="web:2",
                    priority=3,
                    replicas=4,
                    env=(EnvVar("A", "1"),),
                    env_map={"B": "2"},
                    use_host_network=False,
                    others=(MetaParam("log_level", "debug"),),
                ),
                resources=RoleResources(
                    requests_cpu=0.5,
                    limits_cpu=2,
                    requests_memory=512,
                    limits_memory=1024,
                    requests_gpu=1,
                    limits_gpu=1.5,
                    storage_resources=(
                        StorageResource(
                            "data",
                            storage_class="fast",
                            size="10Gi",
                            access_modes=("ReadWriteOnce",),
                            disk_replicas=2,
                        ),
                    ),
                ),
            ),
        )
    )
    assert meta_info_values(params, metainfo) == {
        "image": "web:2",
        "priority": 3,
        "web": {
            "replicas": 4,
            "env": [{"name": "A", "value": "1"}],
            "envMap": {"B": "2"},
            "hostNetwork": False,
            "logLevel": "debug",
            "resources": {
                "requests": {"cpu": "0.5", "memory": "512Mi", "gpu": "1"},
                "limits": {"cpu": "2", "memory": "1024Mi", "gpu": "1.5"},
            },
            "storage": {
                "data": {
                    "size": "10Gi",
                    "storageClass": "fast",
                    "accessModes": ["ReadWriteOnce"],
                    "diskReplicas": 2,
                }
            },
            "dataSize": "10Gi",
            "dataClass": "fast",
            "dataAccessMode": "ReadWriteOnce",
        },
    }


def test_a_storage_resource_writes_only_the_fields_given(metainfo: ChartMetaInfo) -> None:
    params = MetaInfoParams(
        roles=(
            RoleConfig(
                "web",
                resources=RoleResources(storage_resources=(StorageResource("data", size="5Gi"),)),
            ),
        )
    )
    assert meta_info_values(params, metainfo) == {
        "web": {"storage": {"data": {"size": "5Gi"}}, "dataSize": "5Gi"}
    }


def test_params_are_written_at_their_map_key_and_null_stays_null(
    metainfo: ChartMetaInfo,
) -> None:
    params = MetaInfoParams(
        params=(MetaParam("domain", {"host": "example.com"}), MetaParam("dotted", None))
    )
    assert meta_info_values(params, metainfo) == {
        "ingress": {"domain": {"host": "example.com"}},
        "config": {"log.level": None},
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            MetaInfoParams(params=(MetaParam("nope", 1),)),
            "metaInfoParams.params[nope]: the chart's metainfo declares no param 'nope' "
            "(params: domain, dotted)",
        ),
        (
            MetaInfoParams(roles=(RoleConfig("api"),)),
            "metaInfoParams.roles[api]: the chart's metainfo declares no role 'api' (roles: web)",
        ),
        (
            MetaInfoParams(
                roles=(RoleConfig("web", RoleBaseConfig(others=(MetaParam("color", "red"),))),)
            ),
            "metaInfoParams.roles[web].baseConfig.others[color]: the chart's metainfo declares "
            "no other 'color'",
        ),
        (
            MetaInfoParams(
                roles=(
                    RoleConfig(
                        "web",
                        resources=RoleResources(storage_resources=(StorageResource("logs"),)),
                    ),
                )
            ),
            "metaInfoParams.roles[web].resources.storageResources[logs]: the chart's metainfo "
            "declares no storage 'logs' (storage: data)",
        ),
    ],
)
def test_anything_the_metainfo_does_not_declare_is_an_error_naming_it(
    metainfo: ChartMetaInfo, params: MetaInfoParams, message: str
) -> None:
    with pytest.raises(MetaInfoError) as error:
        meta_info_values(params, metainfo)
    assert message in str(error.value)


def test_a_role_field_without_a_map_key_cannot_be_set(tmp_path: Path) -> None:
    found = read_metainfo(write_chart(tmp_path, "roles:\n  - name: web\n"))
    params = MetaInfoParams(roles=(RoleConfig("web", RoleBaseConfig(replicas=2)),))
    with pytest.raises(
        MetaInfoError, match=r"roles\[web\]\.baseConfig\.replicas: the chart's metainfo gives no"
    ):
        meta_info_values(params, found)


def test_metainfo_params_for_a_chart_without_metainfo_are_an_error() -> None:
    with pytest.raises(
        MetaInfoError, match=re.escape("the chart has no transwarp-meta/metainfo.yaml")
    ):
        meta_info_values(MetaInfoParams(params=(MetaParam("x", 1),)), None)


def test_no_metainfo_params_give_no_values() -> None:
    assert meta_info_values(MetaInfoParams(), None) == {}


@pytest.mark.parametrize(
    ("cores", "text"), [(2, "2"), (2.0, "2"), (0.5, "0.5"), (0.1, "0.1"), (1.25, "1.25")]
)
def test_cores_are_written_as_walm_did(cores: float, text: str) -> None:
    assert cores_text(cores) == text
