"""A release from a `file://` chart repository named in harmonia.yaml, loaded and rendered
through the whole rendering stage (the schema used to refuse such a harmonia.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.types import ReleaseKey
from tests.render.conftest import FIXTURE_CHARTS
from tests.render.servers import publish_chart_repository
from tests.render.test_pipeline import desired, write_repository


def test_a_release_from_a_file_chart_repository_renders(
    helm_binary: Path, helm_home: Path, tmp_path: Path
) -> None:
    charts = tmp_path / "file-repository"
    publish_chart_repository(helm_binary, [FIXTURE_CHARTS / "helm-shop"], charts, home=helm_home)
    release = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": "web",
        "namespace": "shop",
        "repoName": "local",
        "chartName": "shop",
        "chartVersion": "1.4.2",
        "configValues": {
            "image": {"repository": "registry.example.invalid/shop/web"},
            "database": {"host": "db", "password": "file-repository-test"},
        },
    }
    root = write_repository(
        tmp_path / "repo",
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
            f"kubeVersion: v1.36.3\nchartRepositories:\n  local: {charts.as_uri()}\n",
            "releases/shop/web.yaml": json.dumps(release),
        },
    )

    state = desired(root, helm_binary, tmp_path / "cache")

    assert not state.has_errors, [d.render() for d in state.diagnostics]
    assert ReleaseKey("shop/web") not in state.render.failed, state.render.failed
    assert state.render.rendered[ReleaseKey("shop/web")].objects
