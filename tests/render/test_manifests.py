"""Charts that take no values: a folder of plain manifests, and a Kustomize folder
built by the real `kubectl kustomize`."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster.build import ensure_binaries
from reconciler.render.chart import chart_kind
from reconciler.render.manifests import render_kustomize, render_plain
from reconciler.render.model import ChartKind, RenderEnvironment, RenderError, ResolvedChart


def chart(root: Path, kind: ChartKind) -> ResolvedChart:
    return ResolvedChart(root=root, kind=kind, name=root.name, version="0.0.0", digest="x")


def environment(helm_binary: Path) -> RenderEnvironment:
    return RenderEnvironment(
        kube_version="v1.36.3",
        api_versions=(),
        helm=helm_binary,
        kubectl=ensure_binaries()["kubectl"],
    )


def test_a_plain_folder_renders_every_manifest_in_path_order(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = tmp_path / "plain"
    (root / "b").mkdir(parents=True)
    (root / "b" / "service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
    )
    (root / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n"
    )
    (root / "README.md").write_text("not a manifest\n")
    assert chart_kind(root) is ChartKind.PLAIN
    output = render_plain(
        chart(root, ChartKind.PLAIN),
        release_name="r",
        namespace="ns",
        values={},
        env=environment(helm_binary),
    )
    assert [o["metadata"]["name"] for o in output.objects] == ["one", "two", "web"]  # type: ignore[index, call-overload]


def test_a_kustomize_folder_renders_through_kubectl_kustomize(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = tmp_path / "overlay"
    root.mkdir()
    (root / "kustomization.yaml").write_text(
        "resources: [config.yaml]\nnamePrefix: prod-\ncommonLabels: {tier: web}\n"
    )
    (root / "config.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")
    assert chart_kind(root) is ChartKind.KUSTOMIZE
    output = render_kustomize(
        chart(root, ChartKind.KUSTOMIZE),
        release_name="r",
        namespace="ns",
        values={},
        env=environment(helm_binary),
    )
    (config,) = output.objects
    assert config["metadata"] == {"name": "prod-web", "labels": {"tier": "web"}}


def test_a_broken_kustomization_is_a_render_error_quoting_kustomize(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(
        RenderError, match=r"^release ns/r: chart broken: kubectl kustomize failed: .*missing\.yaml"
    ):
        render_kustomize(
            chart(root, ChartKind.KUSTOMIZE),
            release_name="r",
            namespace="ns",
            values={},
            env=environment(helm_binary),
        )
