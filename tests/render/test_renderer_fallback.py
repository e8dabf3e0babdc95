"""Without harmonia-renderer, Helm charts render with the helm binary as before: the same
output, and one warning per Harmonia process saying why it is slower."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from reconciler.render.helm import renderer as renderer_module
from reconciler.render.helm.engine import render_helm
from reconciler.render.model import ChartKind, RenderEnvironment, ResolvedChart
from tests.render.conftest import FIXTURE_CHARTS
from tests.render.test_pipeline import write_repository
from tests.render.test_render_cli_output import HARMONIA

WARNING = "harmonia-renderer not found (set HARMONIA_RENDERER or put it on PATH)"
FEATURES = FIXTURE_CHARTS / "helm-features"


def repository(root: Path) -> Path:
    """One release of the feature chart (hooks, sub-charts, CRDs) with its values."""
    release = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "Release",
        "name": "web",
        "namespace": "shop",
        "chartPath": "charts/features",
        "configValues": {"owner": "ops"},
    }
    write_repository(
        root,
        {
            "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
            "kubeVersion: v1.36.3\n",
            "releases/shop/web.yaml": json.dumps(release),
        },
    )
    shutil.copytree(FEATURES, root / "charts" / "features")
    return root


def render_web(
    root: Path, cache: Path, helm: Path, renderer: Path | None
) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HARMONIA_HELM", "HARMONIA_RENDERER", "PATH")
    }
    environment.update(
        PATH="/usr/bin:/bin",
        HARMONIA_HELM=str(helm),
        HARMONIA_RENDERER=str(renderer or cache / "no-renderer-here"),
        HARMONIA_CACHE_DIR=str(cache),
    )
    return subprocess.run(
        [
            *HARMONIA,
            "render",
            str(root),
            "-r",
            "shop/web",
            "--offline",
            "-o",
            "yaml",
            "--allow-cluster-scoped",
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def test_without_the_renderer_helm_renders_the_same_objects_with_a_warning(
    tmp_path: Path, helm_binary: Path, renderer_binary: Path
) -> None:
    assert shutil.which("harmonia-renderer", path="/usr/bin:/bin") is None
    root = repository(tmp_path / "repo")
    with_renderer = render_web(root, tmp_path / "cache-a", helm_binary, renderer_binary)
    without = render_web(root, tmp_path / "cache-b", helm_binary, None)
    assert with_renderer.returncode == 0, with_renderer.stderr
    assert without.returncode == 0, without.stderr
    assert WARNING not in with_renderer.stderr
    assert without.stderr.count(WARNING) == 1
    assert "name: web-worker" in with_renderer.stdout
    assert without.stdout == with_renderer.stdout


def test_the_fallback_warning_is_given_once_however_many_releases_render(
    tmp_path: Path,
    helm_binary: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(renderer_module, "_fallback_warned", threading.Event())
    chart = ResolvedChart(
        root=FEATURES,
        kind=ChartKind.HELM,
        name="features",
        version="0.3.0",
        digest="d",
    )
    env = RenderEnvironment(kube_version="v1.36.3", api_versions=(), helm=helm_binary)
    with caplog.at_level(logging.WARNING):
        for name in ("one", "two", "three"):
            render_helm(chart, release_name=name, namespace="shop", values={"owner": "o"}, env=env)
    assert [record.getMessage().startswith(WARNING) for record in caplog.records] == [True]
