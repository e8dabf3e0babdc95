"""Rendering one environment of a repository (examples/two-environments): its overlays'
values reach the chart, its Kubernetes version is the one rendered for offline, and its
namespace narrowing keeps out what it does not allow. Real helm, no cluster."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from reconciler.desired import DesiredState
from reconciler.types import ReleaseKey
from tests.render.test_pipeline import HARMONIA, desired

TWO_ENVIRONMENTS = Path(__file__).parents[2] / "examples" / "two-environments"
GREETER = ReleaseKey("shop/greeter")
DEBUG_TOOLS = ReleaseKey("shop/debug-tools")


def objects(state: DesiredState, kind: str) -> dict[str, Any]:
    [found] = [item for item in state.render.rendered[GREETER].objects if item["kind"] == kind]
    return found


def test_each_environment_renders_its_own_values(tmp_path: Path, helm_binary: Path) -> None:
    prod = desired(TWO_ENVIRONMENTS, helm_binary, tmp_path / "cache", environment="prod")
    dev = desired(TWO_ENVIRONMENTS, helm_binary, tmp_path / "cache", environment="dev")
    assert objects(prod, "Deployment")["spec"]["replicas"] == 3
    assert objects(prod, "ConfigMap")["data"] == {"greeting": "Hello", "logLevel": "info"}
    assert objects(dev, "Deployment")["spec"]["replicas"] == 1
    assert objects(dev, "ConfigMap")["data"] == {"greeting": "Hello from dev", "logLevel": "debug"}
    assert DEBUG_TOOLS in dev.render.rendered and DEBUG_TOOLS not in prod.loaded.releases


def test_offline_renders_use_the_environments_kubernetes_version(
    tmp_path: Path, helm_binary: Path
) -> None:
    for environment, version in (("prod", "v1.35.0"), ("dev", "v1.36.3")):
        state = desired(TWO_ENVIRONMENTS, helm_binary, tmp_path / "cache", environment=environment)
        assert (state.versions.kube_version, state.versions.origin) == (version, "harmonia.yaml")


def test_an_environments_namespace_narrowing_keeps_other_namespaces_out(
    tmp_path: Path, helm_binary: Path
) -> None:
    root = tmp_path / "repo"
    shutil.copytree(TWO_ENVIRONMENTS, root)
    moved = (root / "releases/shop/debug-tools.yaml").read_text().replace("shop", "tools")
    (root / "releases/shop/debug-tools.yaml").unlink()
    (root / "releases/tools").mkdir()
    (root / "releases/tools/debug-tools.yaml").write_text(moved)
    (root / "environments/prod/shop/debug-tools.yaml").unlink()
    dev = desired(root, helm_binary, tmp_path / "cache", environment="dev")
    refused = [item for item in dev.diagnostics if item.is_error]
    assert [(item.file, item.message) for item in refused] == [
        (
            "releases/tools/debug-tools.yaml",
            "namespace 'tools' is not allowed (allowed: shop)",
        )
    ]
    assert set(dev.render.rendered) == {GREETER}


def test_harmonia_render_prints_the_environments_objects(helm_binary: Path) -> None:
    shown = subprocess.run(
        [
            *HARMONIA,
            "render",
            str(TWO_ENVIRONMENTS),
            "-r",
            "shop/greeter",
            "--offline",
            "--helm",
            str(helm_binary),
            "--environment",
            "prod",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    deployment = next(
        item for item in yaml.safe_load_all(shown.stdout) if item["kind"] == "Deployment"
    )
    assert deployment["spec"]["replicas"] == 3
