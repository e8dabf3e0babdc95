"""Converting WALM release request bodies and release list items into Harmonia release files."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from reconciler.release_requests import SourceFormat, load_repository
from reconciler.release_requests.diagnostics import SourceMap
from reconciler.release_requests.schema import Schema, validate_document
from reconciler.release_requests.walm_import import (
    ImportedRelease,
    ImportFailure,
    WalmBody,
    import_walm_bodies,
    import_walm_body,
    parse_walm_text,
    release_file_text,
    repository_file_text,
    walm_bodies,
)
from reconciler.types import JsonObject, JsonValue
from tests.unit.samples import WALM_BODY, write_repository

# Bodies shaped like the examples of WALM's documentation (docs/application-management.md
# and docs/ref/releaseRequest-reference.md in WarpCloud/walm), written for these tests.
ZOOKEEPER_INSTALL: JsonObject = {
    "chartName": "zookeeper",
    "chartVersion": "6.1.0",
    "repoName": "qa",
    "name": "zookeeper-xxx",
}
ZOOKEEPER_CONFIG_VALUES: JsonObject = {
    "chartName": "zookeeper",
    "chartVersion": "6.1.0",
    "configValues": {
        "appConfig": {
            "zookeeper": {
                "priority": 1,
                "replicas": 3,
                "image": "docker.io/warpcloud/zookeeper:5.2",
                "env_list": [],
                "use_host_network": False,
                "resources": {
                    "cpu_limit": 3,
                    "cpu_request": 0.5,
                    "memory_limit": "4Gi",
                    "memory_request": "1Gi",
                    "storage": {
                        "data": {
                            "storageClass": "silver",
                            "size": "100Gi",
                            "accessMode": "ReadWriteOnce",
                            "limit": {},
                        }
                    },
                },
            }
        }
    },
    "dependencies": {},
    "name": "zookeeper-zhiyang",
    "releaseLabels": {},
    "repoName": "qa",
}
ZOOKEEPER_META_INFO: JsonObject = {
    "chartName": "zookeeper",
    "chartVersion": "6.1.0",
    "metaInfoParams": {
        "params": [{"name": "zoo_cfg_tick_time", "type": "int", "value": "2000"}],
        "roles": [
            {
                "baseConfig": {
                    "env": [{"name": "LOG_LEVEL", "value": "info"}],
                    "image": "docker.io/warpcloud/zookeeper:5.2",
                    "others": [{"name": "jvm_opts", "type": "string", "value": '"-Xmx1g"'}],
                    "priority": 0,
                    "replicas": 3,
                    "useHostNetwork": False,
                },
                "name": "zookeeper",
                "resources": {
                    "limitsCpu": 2,
                    "limitsMemory": 4096,
                    "requestsCpu": 0.5,
                    "requestsMemory": 1024,
                    "storageResources": [
                        {
                            "name": "data",
                            "value": {
                                "accessModes": ["ReadWriteOnce"],
                                "size": 100,
                                "storageClass": "silver",
                            },
                        }
                    ],
                },
            }
        ],
    },
    "name": "zookeeper-test",
    "releaseLabels": {},
    "repoName": "stable",
}
KAFKA_DEPENDENCIES: JsonObject = {
    "name": "kafka",
    "repoName": "qa",
    "chartName": "kafka",
    "chartVersion": "6.1.0",
    "configValues": {"advanceConfig": {"server_properties": {"num.partitions": 6}}},
    "dependencies": {"zookeeper": "streaming/zookeeper-test"},
    "releaseLabels": {"app.kubernetes.io/name": "kafka", "app.kubernetes.io/version": "6.1.0"},
}
LABEL_POD_PLUGIN: JsonObject = {
    "name": "kafka-labelled",
    "repoName": "qa",
    "chartName": "kafka",
    "chartVersion": "6.1.0",
    "plugins": [
        {
            "name": "LabelPod",
            "args": '{"labelsToAdd":{"test1":"test2"}}',
            "version": "1.0",
            "disable": False,
        }
    ],
}
CHART_IMAGE: JsonObject = {
    "chartImage": "docker.io/warpcloud/zookeeper:6.1",
    "name": "zookeeper-demo",
    "releaseLabels": {},
}
# An item of WALM's release list (ReleaseInfoV2, as in docs/ref/queryResults-description.md).
KAFKA_LIST_ITEM: JsonObject = {
    "name": "ka2",
    "repoName": "qa",
    "configValues": {"Transwarp_Install_ID": "x7k2p"},
    "version": 4,
    "namespace": "helmv3",
    "dependencies": {"zookeeper": "zk2"},
    "chartName": "kafka",
    "chartVersion": "6.1.0",
    "chartAppVersion": "6.1",
    "helmExtraLabels": None,
    "ready": True,
    "message": "",
    "releaseStatus": {"services": [], "statefulsets": []},
    "dependenciesConfigValues": {"ZOOKEEPER_CLIENT_CONFIG": {"zookeeper_port": "2181"}},
    "computedValues": {"appConfig": {"kafka": {"replicas": 3}}},
    "outputConfigValues": {},
    "releaseLabels": {"auto-gen": "true", "team": "data"},
    "plugins": [
        {
            "name": "LabelPod",
            "args": '{"labelsToAdd":{"a":"b"}}',
            "version": "1.0",
            "disable": False,
        }
    ],
    "metaInfoValues": {"params": None, "roles": [{"name": "kafka", "baseConfig": {"replicas": 3}}]},
    "paused": False,
    "chartImage": "",
}

DOCUMENTED_BODIES = {
    "zookeeper install": ZOOKEEPER_INSTALL,
    "zookeeper configValues": ZOOKEEPER_CONFIG_VALUES,
    "zookeeper metaInfoParams": ZOOKEEPER_META_INFO,
    "kafka dependencies and labels": KAFKA_DEPENDENCIES,
    "plugin args as JSON text": LABEL_POD_PLUGIN,
    "chart image": CHART_IMAGE,
    "loader sample": yaml.safe_load(WALM_BODY),
}
KNOWN_PLUGINS = ("LabelPod", "NodeSelector")


def imported(body: JsonValue, **options: object) -> ImportedRelease:
    outcome = import_walm_body(
        WalmBody("walm/body.json", body),
        default_namespace=str(options.get("namespace", "streaming")),
        known_plugins=KNOWN_PLUGINS,
        adopt=bool(options.get("adopt", False)),
    )
    assert isinstance(outcome, ImportedRelease), outcome
    return outcome


def failed(body: JsonValue, *, namespace: str | None = "streaming") -> ImportFailure:
    outcome = import_walm_body(
        WalmBody("walm/body.json", body), default_namespace=namespace, known_plugins=KNOWN_PLUGINS
    )
    assert isinstance(outcome, ImportFailure), outcome
    return outcome


def with_fields(body: JsonObject, **fields: JsonValue) -> JsonObject:
    changed = copy.deepcopy(body)
    changed.update(fields)
    return changed


def notes_of(release: ImportedRelease) -> list[tuple[str, str]]:
    return [(note.path, note.message) for note in release.notes]


@pytest.mark.parametrize("body", DOCUMENTED_BODIES.values(), ids=DOCUMENTED_BODIES.keys())
def test_a_documented_body_becomes_a_valid_release_document(body: JsonObject) -> None:
    release = imported(body)
    assert validate_document(release.document, SourceMap("x", {}), Schema.RELEASE) == ()
    assert release.document["apiVersion"] == "harmonia.dev/v1alpha1"
    assert release.document["kind"] == "Release"


@pytest.mark.parametrize("body", DOCUMENTED_BODIES.values(), ids=DOCUMENTED_BODIES.keys())
def test_the_release_file_loads_as_the_same_release_as_the_walm_body_itself(
    tmp_path: Path, body: JsonObject
) -> None:
    release = imported(body)
    body_with_namespace = {"namespace": "streaming", **body}
    config = (
        "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
        "chartRepositories: {qa: https://charts.example/qa, stable: https://charts.example/s}\n"
    )
    repository = write_repository(
        tmp_path,
        {
            "releases/walm.yaml": json.dumps(body_with_namespace),
            "imported/release.yaml": release_file_text(release),
        },
        config=config,
    )
    from_walm = load_repository(repository).releases[release.key]
    (repository / "releases/walm.yaml").unlink()
    (repository / "imported/release.yaml").rename(repository / "releases/release.yaml")
    from_file = load_repository(repository).releases[release.key]
    assert from_walm.format is SourceFormat.WALM
    assert from_file.format is SourceFormat.HARMONIA
    assert dataclasses.replace(from_walm, format=SourceFormat.HARMONIA) == from_file
    assert from_file == release.release


def test_every_walm_field_with_a_harmonia_equivalent_is_carried_over() -> None:
    body = with_fields(
        ZOOKEEPER_META_INFO,
        configValues={"appConfig": {"zookeeper": {"replicas": 3}}},
        dependencies={"search": "search/search"},
        releaseLabels={"team": "data"},
        plugins=[
            {"name": "LabelPod", "args": '{"labelsToAdd":{"a":"b"}}', "version": "1.0"},
            {"name": "NodeSelector", "args": "", "disable": True, "priority": 5},
        ],
    )
    assert imported(body, adopt=True).document == {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": "zookeeper-test",
        "namespace": "streaming",
        "repoName": "stable",
        "chartName": "zookeeper",
        "chartVersion": "6.1.0",
        "configValues": {"appConfig": {"zookeeper": {"replicas": 3}}},
        "metaInfoParams": {
            "params": [{"name": "zoo_cfg_tick_time", "value": 2000, "type": "int"}],
            "roles": [
                {
                    "name": "zookeeper",
                    "baseConfig": {
                        "image": "docker.io/warpcloud/zookeeper:5.2",
                        "priority": 0,
                        "replicas": 3,
                        "env": [{"name": "LOG_LEVEL", "value": "info"}],
                        "useHostNetwork": False,
                        "others": [{"name": "jvm_opts", "value": "-Xmx1g", "type": "string"}],
                    },
                    "resources": {
                        "requestsCpu": 0.5,
                        "limitsCpu": 2,
                        "requestsMemory": 1024,
                        "limitsMemory": 4096,
                        "storageResources": [
                            {
                                "name": "data",
                                "storageClass": "silver",
                                "accessModes": ["ReadWriteOnce"],
                                "size": "100Gi",
                            }
                        ],
                    },
                }
            ],
        },
        "dependencies": {"search": "search/search"},
        "releaseLabels": {"team": "data"},
        "plugins": [
            {"name": "LabelPod", "args": {"labelsToAdd": {"a": "b"}}, "version": "1.0"},
            {"name": "NodeSelector", "disable": True, "priority": 5},
        ],
        "adopt": True,
    }
    assert imported(body).notes == ()


def test_a_release_list_item_keeps_its_request_fields_and_names_the_rest() -> None:
    release = imported(with_fields(KAFKA_LIST_ITEM, paused=True), namespace="other")
    assert release.document == {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": "ka2",
        "namespace": "helmv3",
        "repoName": "qa",
        "chartName": "kafka",
        "chartVersion": "6.1.0",
        "configValues": {"Transwarp_Install_ID": "x7k2p"},
        "dependencies": {"zookeeper": "zk2"},
        "releaseLabels": {"team": "data"},
        "plugins": [{"name": "LabelPod", "args": {"labelsToAdd": {"a": "b"}}, "version": "1.0"}],
        "paused": True,
    }
    paths = [path for path, _message in notes_of(release)]
    assert paths == [
        "$.version",
        "$.chartAppVersion",
        "$.ready, $.releaseStatus",
        "$.dependenciesConfigValues",
        "$.computedValues",
        "$.metaInfoValues",
        "$.releaseLabels['auto-gen']",
    ]
    assert "status, which Harmonia works out itself" in notes_of(release)[2][1]


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ({"isomateConfig": {"defaultIsomateName": "a"}}, "$.isomateConfig", "isomates"),
        ({"releasePrettyParams": {"commonConfig": {}}}, "$.releasePrettyParams", "deprecated"),
        ({"colour": "blue"}, "$.colour", "not a field of WALM's release requests"),
        ({"dependencies": {"search": ""}}, "$.dependencies['search']", "an empty value removed"),
        ({"releaseLabels": {"old": ""}}, "$.releaseLabels['old']", "an empty value removed"),
        (
            {"releaseLabels": {"app.kubernetes.io/managed-by": "walm"}},
            "$.releaseLabels['app.kubernetes.io/managed-by']",
            "Harmonia sets this label itself",
        ),
        (
            {"releaseLabels": {"harmonia.dev/release-name": "x"}},
            "$.releaseLabels['harmonia.dev/release-name']",
            "Harmonia sets this label itself",
        ),
        (
            {"configValues": {"Walm-Plugin-Key": [], "a": 1}},
            "$.configValues['Walm-Plugin-Key']",
            "see plugins",
        ),
        (
            {"metaInfoParams": {"customParams": {"a": "b"}}},
            "$.metaInfoParams.customParams",
            "custom chart params",
        ),
        (
            {"plugins": [{"name": "ValidateReleaseConfig"}]},
            "$.plugins[0]",
            "WALM's built-in ValidateReleaseConfig",
        ),
        (
            {"plugins": [{"name": "guardian", "args": "", "version": "1"}]},
            "$.plugins[0]",
            "Harmonia has no plugin guardian (it has LabelPod, NodeSelector)",
        ),
        (
            {"chartImage": "docker.io/warpcloud/kafka:6.1"},
            "$.repoName, $.chartName, $.chartVersion",
            "WALM installed from chartImage when both are set",
        ),
        ({"chartImage": "6.1.0"}, "$.chartImage", "'6.1.0' is the chart version"),
    ],
)
def test_what_has_no_harmonia_field_is_named_and_the_rest_still_converts(
    fields: JsonObject, path: str, message: str
) -> None:
    release = imported(with_fields(KAFKA_DEPENDENCIES, **fields))
    assert any(found == path and message in text for found, text in notes_of(release)), notes_of(
        release
    )
    assert validate_document(release.document, SourceMap("x", {}), Schema.RELEASE) == ()


def test_go_zero_values_are_neither_carried_nor_noted() -> None:
    body = with_fields(
        ZOOKEEPER_INSTALL,
        chartImage="",
        configValues=None,
        dependencies={},
        plugins=[],
        isomateConfig=None,
        ready=False,
        message="",
    )
    release = imported(body)
    assert release.notes == ()
    assert set(release.document) == {
        "apiVersion",
        "kind",
        "name",
        "namespace",
        "repoName",
        "chartName",
        "chartVersion",
    }


def test_walms_pause_plugin_becomes_paused_and_a_disabled_one_does_not() -> None:
    pausing = imported(with_fields(ZOOKEEPER_INSTALL, plugins=[{"name": "PauseRelease"}]))
    assert pausing.document["paused"] is True
    assert "plugins" not in pausing.document
    running = imported(
        with_fields(ZOOKEEPER_INSTALL, plugins=[{"name": "PauseRelease", "disable": True}])
    )
    assert "paused" not in running.document
    assert notes_of(running)[0][1].endswith("the release runs")


def test_a_plugin_priority_from_walms_later_versions_is_kept_in_order() -> None:
    plugins: list[JsonValue] = [
        {"name": "PauseRelease"},
        {"name": "LabelPod", "args": '{"labelsToAdd":{"a":"b"}}', "priority": 2},
        {"name": "NodeSelector", "args": "{}"},
    ]
    release = imported(with_fields(ZOOKEEPER_INSTALL, plugins=plugins))
    assert [(plugin.name, plugin.priority) for plugin in release.release.plugins] == [
        ("LabelPod", 2),
        ("NodeSelector", 0),
    ]


def test_a_bodys_own_namespace_wins_and_one_without_needs_the_default() -> None:
    assert imported(with_fields(ZOOKEEPER_INSTALL, namespace="mine")).key == "mine/zookeeper-xxx"
    assert imported(ZOOKEEPER_INSTALL, namespace="given").key == "given/zookeeper-xxx"
    assert failed(ZOOKEEPER_INSTALL, namespace=None).reasons == (
        "no namespace: WALM took it from the request URL (/api/v1/release/{namespace}); "
        "pass -n NAMESPACE",
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (["not", "a", "body"], "not a JSON object"),
        (
            {"name": "web", "repoName": "qa"},
            "$.repoName: repoName needs chartName and chartVersion too",
        ),
        ({"name": "web"}, "no chart: neither chartImage nor repoName/chartName"),
        (
            {"name": "web", "chartName": "web", "chartVersion": "1.0.0"},
            "no repoName: WALM installed it from an uploaded chart archive?",
        ),
        (with_fields(ZOOKEEPER_INSTALL, chartVersion="6.1"), '$.chartVersion: "6.1" is not'),
        (with_fields(ZOOKEEPER_INSTALL, name="Zoo_Keeper"), "$.name:"),
        (
            with_fields(LABEL_POD_PLUGIN, plugins=[{"name": "LabelPod", "args": "{labels"}]),
            "$.plugins[0].args: plugin args: not valid JSON text",
        ),
        (
            with_fields(
                ZOOKEEPER_INSTALL,
                metaInfoParams={"params": [{"name": "x", "value": {"not": "JSON text"}}]},
            ),
            "$.metaInfoParams.params[0].value: expected a string",
        ),
        (
            with_fields(
                ZOOKEEPER_INSTALL,
                metaInfoParams={
                    "roles": [
                        {
                            "name": "zookeeper",
                            "resources": {
                                "storageResources": [{"name": "data", "value": {"size": "100Gi"}}]
                            },
                        }
                    ]
                },
            ),
            "$.metaInfoParams.roles[0].resources.storageResources[0].value.size: expected an "
            "integer",
        ),
        (
            with_fields(
                ZOOKEEPER_INSTALL,
                metaInfoParams={"roles": [{"name": "zk"}, {"name": "zk"}]},
            ),
            "$.metaInfoParams.roles[1].name: role 'zk' is listed twice",
        ),
    ],
    ids=[
        "a list",
        "a partial chart",
        "no chart",
        "an uploaded chart",
        "an inexact version",
        "a bad name",
        "bad plugin args",
        "a param value that is not JSON text",
        "a storage size that is not GiB",
        "a role twice",
    ],
)
def test_a_body_that_cannot_become_a_valid_release_fails_with_every_reason(
    body: JsonValue, reason: str
) -> None:
    reasons = failed(body).reasons
    assert any(item.startswith(reason) for item in reasons), reasons


def test_walm_bodies_reads_the_release_list_a_plain_list_and_a_single_body() -> None:
    listing: JsonObject = {"num": 2, "items": [KAFKA_LIST_ITEM, ZOOKEEPER_INSTALL]}
    assert [entry.source for entry in walm_bodies(listing, source="list.json")] == [
        "list.json items[0]",
        "list.json items[1]",
    ]
    assert [entry.source for entry in walm_bodies([CHART_IMAGE], source="a.json")] == ["a.json [0]"]
    assert walm_bodies(CHART_IMAGE, source="b.json") == (WalmBody("b.json", CHART_IMAGE),)
    assert walm_bodies({"num": 0, "items": []}, source="empty.json") == ()


def test_a_release_named_twice_is_kept_from_the_first_body_only() -> None:
    releases, failures = import_walm_bodies(
        [WalmBody("a.json", ZOOKEEPER_INSTALL), WalmBody("b.json", ZOOKEEPER_INSTALL)],
        default_namespace="streaming",
    )
    assert [item.source for item in releases] == ["a.json"]
    assert failures == (
        ImportFailure(
            "b.json",
            (
                "release streaming/zookeeper-xxx is also in a.json; import the release list "
                "(GET /api/v1/release) for a release's merged state",
            ),
        ),
    )


def test_walm_text_is_read_as_json_or_as_one_yaml_mapping() -> None:
    assert parse_walm_text('{"name": "web"}', source="a.json", is_json=True) == {"name": "web"}
    assert parse_walm_text("[1, 2]", source="a.json", is_json=True) == [1, 2]
    broken = parse_walm_text('{"name": ', source="a.json", is_json=True)
    assert isinstance(broken, ImportFailure)
    assert broken.reasons[0].startswith("not valid JSON: Expecting value at line 1")
    assert parse_walm_text("name: web\nwhen: 2026-01-01\n", source="a.yaml", is_json=False) == {
        "name": "web",
        "when": "2026-01-01",
    }
    duplicated = parse_walm_text("name: a\nname: b\n", source="a.yaml", is_json=False)
    assert isinstance(duplicated, ImportFailure)
    assert "duplicate key 'name'" in duplicated.reasons[0]


def test_the_release_file_names_its_origin_and_the_repository_file_its_repositories() -> None:
    text = release_file_text(imported(ZOOKEEPER_INSTALL))
    assert text.startswith("# Imported from WALM by harmonia import-walm: walm/body.json\n")
    assert yaml.safe_load(text)["chartVersion"] == "6.1.0"
    assert yaml.safe_load(repository_file_text({"qa": "https://charts.example/qa"})) == {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Repository",
        "chartRepositories": {"qa": "https://charts.example/qa"},
    }
    assert "chartRepositories" not in yaml.safe_load(repository_file_text({}))
