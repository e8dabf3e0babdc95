"""A Jsonnet chart whose main file is not named as expected fails its release with a
message naming the file expected; it used to render as a plain folder: nothing."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.types import ReleaseKey
from tests.render.test_pipeline import desired, write_repository

RELEASE = ReleaseKey("shop/app")
CONFIG_MAP = "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'app'}}"


def repository(root: Path, chart_files: dict[str, str]) -> Path:
    release = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": "app",
        "namespace": "shop",
        "chartPath": "charts/app",
    }
    files = {f"charts/app/{name}": text for name, text in chart_files.items()}
    return write_repository(
        root,
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
            "releases/shop/app.yaml": json.dumps(release),
            **files,
        },
    )


def failure(root: Path, helm_binary: Path, cache: Path) -> str:
    state = desired(root, helm_binary, cache)
    assert RELEASE not in state.render.rendered, state.render.rendered[RELEASE].objects
    return state.render.failed[RELEASE].message


def test_a_plain_jsonnet_chart_without_its_main_file_fails_naming_the_file_expected(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = repository(tmp_path / "repo", {"app-main.jsonnet": CONFIG_MAP})

    message = failure(root, helm_binary, tmp_path / "cache")

    assert message.startswith("release shop/app: chart app")
    assert "expected main.jsonnet or app.jsonnet at the chart's root" in message
    assert "found app-main.jsonnet" in message


def test_a_walm_chart_without_a_main_file_fails_naming_the_file_expected(
    helm_binary: Path, tmp_path: Path
) -> None:
    chart = {
        "Chart.yaml": "apiVersion: v1\nname: app\nversion: 1.0.0\nappVersion: '1.0'\n",
        "template-jsonnet/app.jsonnet": f"function(config={{}}) {CONFIG_MAP}",
    }
    root = repository(tmp_path / "repo", chart)

    message = failure(root, helm_binary, tmp_path / "cache")

    assert "exactly one template-jsonnet/...main.jsonnet main file" in message
    assert "found none (among template-jsonnet/app.jsonnet)" in message


def test_a_plain_jsonnet_chart_with_its_main_file_still_renders(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = repository(tmp_path / "repo", {"main.jsonnet": CONFIG_MAP})
    state = desired(root, helm_binary, tmp_path / "cache")
    assert [obj["kind"] for obj in state.render.rendered[RELEASE].objects] == ["ConfigMap"]
