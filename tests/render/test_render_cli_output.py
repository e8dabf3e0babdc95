"""`harmonia render` as a user runs it: a release of plain manifests needs no helm, a
Helm chart without helm fails naming what is missing, and `-o yaml` reads back as the
objects rendered (trailing spaces and all)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.render.conftest import FIXTURE_CHARTS
from tests.render.test_pipeline import write_repository

HARMONIA = (sys.executable, "-m", "reconciler")
TEXT = "first line with trailing spaces   \n  indented\t\nlast\n"
CONFIG_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "app"},
    "data": {"script": TEXT, "single": "ends with a space ", "nel": "a\x85b"},
}


def repository(root: Path) -> Path:
    releases = {
        name: {
            "apiVersion": "harmonia.dev/v1alpha1",
            "kind": "Release",
            "name": name,
            "namespace": "shop",
            "chartPath": f"charts/{name}",
        }
        for name in ("app", "web")
    }
    write_repository(
        root,
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
            "kubeVersion: v1.36.3\n",
            "charts/app/objects.yaml": json.dumps(CONFIG_MAP),
            **{f"releases/shop/{name}.yaml": json.dumps(body) for name, body in releases.items()},
        },
    )
    shutil.copytree(FIXTURE_CHARTS / "helm-shop", root / "charts" / "web")
    return root


def render_without_helm(root: Path, release: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`harmonia render` with no helm to be found: none named, none on PATH."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("HARMONIA_HELM", "PATH")
    }
    environment["PATH"] = "/usr/bin:/bin"
    return subprocess.run(
        [*HARMONIA, "render", str(root), "-r", release, "--offline", *extra],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def test_a_release_of_plain_manifests_renders_without_helm(tmp_path: Path) -> None:
    assert shutil.which("helm", path="/usr/bin:/bin") is None
    result = render_without_helm(repository(tmp_path / "repo"), "shop/app")
    assert result.returncode == 0, result.stderr
    assert "helm" not in result.stderr


def test_a_helm_chart_without_helm_fails_its_release_naming_what_is_missing(
    tmp_path: Path,
) -> None:
    result = render_without_helm(repository(tmp_path / "repo"), "shop/web")
    assert result.returncode == 1
    assert result.stderr.startswith("release shop/web: chart ")
    assert "helm not found: put it on PATH or set HARMONIA_HELM to its path" in result.stderr


def test_render_as_yaml_reads_back_as_the_objects_rendered_trailing_spaces_included(
    tmp_path: Path,
) -> None:
    root = repository(tmp_path / "repo")
    as_yaml = render_without_helm(root, "shop/app", "-o", "yaml", "--show-secrets")
    as_json = render_without_helm(root, "shop/app", "-o", "json", "--show-secrets")
    assert as_yaml.returncode == 0 and as_json.returncode == 0, as_yaml.stderr
    (rendered,) = yaml.safe_load_all(as_yaml.stdout)
    assert rendered == json.loads(as_json.stdout)[0]
    assert rendered["data"] == CONFIG_MAP["data"]
