"""The renderer as a component of the build recipe: it requires Helm at the pinned
version, and a change to its source is a new build."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from devcluster import build
from devcluster.build import BuildError, check_source_pin, recipe_hash, source_hash
from devcluster.pins import BINARIES, COMPONENTS, HELM_VERSION

RENDERER = next(component for component in COMPONENTS if component.name == "renderer")


def test_the_renderer_is_built_at_the_helm_binarys_version_with_its_ldflags() -> None:
    helm = next(component for component in COMPONENTS if component.name == "helm")
    assert (RENDERER.version, RENDERER.ldflags) == (HELM_VERSION, helm.ldflags)
    assert BINARIES["harmonia-renderer"] == "renderer"


def test_the_renderers_go_mod_requires_helm_at_the_pinned_version() -> None:
    go_mod = (build.REPOSITORY_ROOT / RENDERER.source / "go.mod").read_text()
    check_source_pin(RENDERER, go_mod)


def test_a_go_mod_requiring_another_helm_is_refused_naming_the_pin() -> None:
    go_mod = "module harmonia.dev/renderer\n\nrequire (\n\thelm.sh/helm/v4 v4.2.0\n)\n"
    with pytest.raises(BuildError, match=f"must require helm.sh/helm/v4 {HELM_VERSION}"):
        check_source_pin(RENDERER, go_mod)


def test_an_edited_renderer_source_changes_its_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "renderer"
    shutil.copytree(build.REPOSITORY_ROOT / RENDERER.source, copy)
    monkeypatch.setattr(build, "REPOSITORY_ROOT", tmp_path)
    before = (source_hash(copy), recipe_hash(RENDERER, "go1.26.8"))
    (copy / "main.go").write_text((copy / "main.go").read_text() + "\n// edited\n")
    after = (source_hash(copy), recipe_hash(RENDERER, "go1.26.8"))
    assert before[0] != after[0] and before[1] != after[1]
    assert recipe_hash(replace(RENDERER, source=""), "go1.26.8") != after[1]
