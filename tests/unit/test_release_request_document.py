"""A release written back as its document: the file's field names, and loading it again
gives the same release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.release_requests import ChartImage, RepoChart, load_repository
from reconciler.release_requests.document import chart_fields, release_document
from reconciler.types import ReleaseKey
from tests.unit.samples import FULL_RELEASE, WALM_EQUIVALENT, release, write_repository


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (FULL_RELEASE, "streaming/kafka"),
        (WALM_EQUIVALENT, "streaming/zookeeper"),
        (release("web"), "apps/web"),
    ],
)
def test_loading_a_release_document_gives_back_the_same_release(
    tmp_path: Path, text: str, key: str
) -> None:
    first = load_repository(write_repository(tmp_path / "a", {"releases/one.yaml": text}))
    original = first.releases[ReleaseKey(key)]
    written = json.dumps(release_document(original))
    again = load_repository(write_repository(tmp_path / "b", {"releases/one.yaml": written}))
    assert again.diagnostics == ()
    assert again.releases[ReleaseKey(key)] == original


def test_the_document_uses_the_files_field_names(tmp_path: Path) -> None:
    loaded = load_repository(write_repository(tmp_path, {"releases/kafka.yaml": FULL_RELEASE}))
    document = release_document(loaded.releases[ReleaseKey("streaming/kafka")])
    assert list(document)[:5] == ["apiVersion", "kind", "name", "namespace", "chartPath"]
    assert {"configValues", "metaInfoParams", "releaseLabels", "deletePvcs", "selfHeal"} <= set(
        document
    )
    assert document["restartedAt"] == "2026-11-23T10:00:00+00:00"
    assert "source" not in document and "format" not in document


@pytest.mark.parametrize(
    ("chart", "fields"),
    [
        (
            RepoChart("stable", "zookeeper", "6.1.0"),
            {"repoName": "stable", "chartName": "zookeeper", "chartVersion": "6.1.0"},
        ),
        (ChartImage("oci://r.example/c/web:1.0"), {"chartImage": "oci://r.example/c/web:1.0"}),
    ],
)
def test_chart_fields_name_the_chart_as_the_file_does(
    chart: RepoChart | ChartImage, fields: dict[str, str]
) -> None:
    assert chart_fields(chart) == fields
