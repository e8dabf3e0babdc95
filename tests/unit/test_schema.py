"""The JSON Schemas in schemas/: valid draft 2020-12, the ones the loader uses, their messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reconciler.release_requests.schema import Schema, schema_folder, validate_document
from reconciler.release_requests.yaml_source import parse_yaml_text
from tests.unit.samples import FULL_RELEASE, REPOSITORY, WALM_BODY, release

ROOT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def problems(text: str, schema: Schema = Schema.RELEASE) -> list[tuple[int, int, str, str, str]]:
    read = parse_yaml_text(text, display_name="f.yaml")
    assert read.document is not None and not read.problems
    found = validate_document(read.document.data, read.document.source, schema)
    return [(p.line, p.column, p.message, p.path, p.hint) for p in found]


def messages(text: str, schema: Schema = Schema.RELEASE) -> list[str]:
    return [message for _, _, message, _, _ in problems(text, schema)]


@pytest.mark.parametrize("path", sorted(ROOT_SCHEMAS.glob("*.json")), ids=lambda path: path.name)
def test_every_schema_is_valid_draft_2020_12(path: Path) -> None:
    document = json.loads(path.read_text())
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)


def test_the_loader_reads_the_schemas_at_the_repository_root() -> None:
    folder = Path(str(schema_folder()))
    assert folder.resolve() == ROOT_SCHEMAS
    assert {schema.value for schema in Schema} <= {path.name for path in ROOT_SCHEMAS.iterdir()}


def test_the_schemas_are_package_data_of_the_wheel() -> None:
    pyproject = (ROOT_SCHEMAS.parent / "pyproject.toml").read_text()
    assert '"reconciler.release_requests" = ["schemas/*.json"]' in pyproject


@pytest.mark.parametrize(
    ("text", "schema"),
    [
        (FULL_RELEASE, Schema.RELEASE),
        (WALM_BODY, Schema.WALM_RELEASE_REQUEST),
        (REPOSITORY, Schema.REPOSITORY),
        (REPOSITORY + "allowedNamespaces: [streaming, team-*]\n", Schema.REPOSITORY),
        ("apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\n", Schema.RECONCILER_CONFIG),
    ],
)
def test_the_documented_examples_are_valid(text: str, schema: Schema) -> None:
    assert problems(text, schema) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Kafka", '"Kafka" is not a valid release name'),
        ("kafka_1", '"kafka_1" is not a valid release name'),
        ("-kafka", '"-kafka" is not a valid release name'),
        ("k" * 54, "is longer than 53 characters"),
    ],
)
def test_release_names_are_dns_1123_labels(name: str, message: str) -> None:
    found = problems(release(name))
    assert [(line, column) for line, column, *_ in found] == [(3, 7)]
    assert message in found[0][2]
    assert "DNS-1123" in found[0][4] or "53" in found[0][4]


def test_namespaces_are_dns_1123_labels() -> None:
    assert problems(release("web", namespace="Shop"))[0][:4] == (
        4,
        12,
        '"Shop" is not a valid namespace name',
        "$.namespace",
    )


def test_an_unknown_field_suggests_the_field_it_misspells() -> None:
    text = release("web", descripton="the shop")
    assert problems(text) == [
        (6, 1, "unknown field 'descripton'", "$.descripton", "did you mean 'description'?")
    ]


def test_an_unknown_field_in_a_nested_mapping_lists_the_known_ones() -> None:
    text = release("web", metaInfoParams="{roles: [{name: a, resources: {cpu: 1}}]}")
    ((line, _, message, path, hint),) = problems(text)
    assert (line, message, path) == (
        6,
        "unknown field 'cpu'",
        "$.metaInfoParams.roles[0].resources.cpu",
    )
    assert hint.startswith("known fields: requestsCpu")


def test_a_field_in_the_wrong_case_is_recognised() -> None:
    assert problems(release("web", ChartName="x"))[0][4] == "did you mean 'chartName'?"


def test_a_number_where_a_string_belongs_suggests_quotes_as_written() -> None:
    found = problems(release("web", plugins="[{name: LabelPod, version: 1.10}]"))
    assert found == [
        (
            6,
            37,
            "expected a string, got number 1.1",
            "$.plugins[0].version",
            'quote it: "1.10"',
        )
    ]


def test_a_quoted_number_where_a_number_belongs_suggests_removing_the_quotes() -> None:
    found = problems(release("web", timeoutSec='"300"'))
    assert found[0][2:] == (
        'expected an integer, got string "300"',
        "$.timeoutSec",
        "remove the quotes: 300",
    )


def test_a_missing_field_is_reported_with_what_to_add() -> None:
    text = "apiVersion: harmonia.dev/v1alpha1\nkind: Release\nname: web\nchartPath: charts/web\n"
    ((line, column, message, path, hint),) = problems(text)
    assert (line, column, message, path) == (1, 1, "missing required field 'namespace'", "$")
    assert hint.startswith("add 'namespace'")


def test_an_unsupported_api_version_names_the_supported_one() -> None:
    text = release("web").replace("v1alpha1", "v1")
    assert messages(text) == ['must be "harmonia.dev/v1alpha1"']


def test_a_release_needs_exactly_one_chart() -> None:
    text = release("web").replace("chartPath: charts/web\n", "")
    assert messages(text) == [
        "needs one of: chartPath, repoName + chartName + chartVersion, chartImage"
    ]
    both = release("web", chartImage="oci://registry.example/charts/web:1.0.0")
    assert problems(both)[0][:3] == (6, 1, "sets both chartPath and chartImage")


def test_a_chart_from_a_repository_needs_name_and_version_too() -> None:
    text = release("web", repoName="stable").replace("chartPath: charts/web\n", "")
    assert messages(text) == ["repoName needs chartName and chartVersion too"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("chartVersion", '"^1.2"', '"^1.2" is not a valid exact chart version'),
        ("chartImage", "registry/web:1", '"registry/web:1" is not a valid OCI chart reference'),
        ("chartImage", "oci://registry/web", '"oci://registry/web" is not a valid OCI chart'),
        ("chartPath", "../outside", '"../outside" is not a valid path inside the repository'),
        ("chartPath", "/etc/charts", '"/etc/charts" is not a valid path inside the repository'),
        ("restartedAt", "yesterday", '"yesterday" is not a valid RFC 3339 timestamp'),
        ("dependencies", "{zk: Other/zk}", '"Other/zk" is not a valid release reference'),
        ("timeoutSec", "0", "must be at least 1"),
    ],
)
def test_field_rules_are_explained(field: str, value: str, message: str) -> None:
    text = release("web").replace("chartPath: charts/web\n", "") + f"{field}: {value}\n"
    if field in ("chartVersion",):
        text += "repoName: stable\nchartName: web\n"
    elif field not in ("chartImage", "chartPath"):
        text += "chartPath: charts/web\n"
    assert any(message in found for found in messages(text)), messages(text)


def test_labels_harmonia_owns_cannot_be_set_by_a_release() -> None:
    text = release("web", releaseLabels="{harmonia.dev/owner: me, app.kubernetes.io/managed-by: x}")
    assert messages(text) == [
        'key "harmonia.dev/owner" is a label Harmonia sets itself',
        'key "app.kubernetes.io/managed-by" is a label Harmonia sets itself',
    ]


def test_a_walm_body_may_hold_go_nil_values() -> None:
    text = "name: web\nnamespace: apps\nchartName: web\nplugins: null\nmetaInfoParams: null\n"
    assert problems(text, Schema.WALM_RELEASE_REQUEST) == []


def test_a_walm_alternative_of_a_type_or_null_reports_one_merged_type_error() -> None:
    text = "name: web\nnamespace: apps\nmetaInfoParams: 5\n"
    assert messages(text, Schema.WALM_RELEASE_REQUEST) == [
        "expected a mapping or null, got number 5"
    ]


def test_a_repository_setting_of_the_wrong_shape_is_explained() -> None:
    text = REPOSITORY.replace("https://charts.example/stable", "/srv/charts")
    text += "allowedNamespaces: []\n"
    assert messages(text, Schema.REPOSITORY) == [
        '"/srv/charts" is not a valid chart repository URL',
        "needs at least 1 item",
    ]


def test_a_misspelt_required_field_is_reported_once_as_misspelt() -> None:
    text = release("web").replace("namespace:", "namspace:").replace("chartPath", "chartpath")
    assert messages(text) == ["unknown field 'namspace'", "unknown field 'chartpath'"]


def test_an_overlay_may_hold_every_release_field_but_the_name_and_namespace() -> None:
    release = json.loads((ROOT_SCHEMAS / Schema.RELEASE.value).read_text())["properties"]
    overlay = json.loads((ROOT_SCHEMAS / Schema.RELEASE_OVERLAY.value).read_text())["properties"]
    assert set(overlay) == set(release) - {"name", "namespace"} | {"absent"}
    for field, rule in overlay.items():
        if field not in ("kind", "absent"):
            assert rule == {"$ref": f"release.schema.json#/properties/{field}"}


def test_an_overlay_is_checked_with_the_release_fields_rules_and_nothing_required() -> None:
    assert problems("paused: true\n", Schema.RELEASE_OVERLAY) == []
    assert messages(
        "metaInfoParams: {roles: [{baseConfig: {}}]}\nabsent: 1\n", Schema.RELEASE_OVERLAY
    ) == [
        "missing required field 'name'",
        "expected true or false, got number 1",
    ]
