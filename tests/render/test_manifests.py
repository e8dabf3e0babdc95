"""Charts that take no values: a folder of plain manifests, and a Kustomize folder
built by the real `kubectl kustomize`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from devcluster.build import ensure_binaries
from reconciler.render.chart_description import chart_kind
from reconciler.render.manifests.engines import render_kustomize, render_plain
from reconciler.render.model import (
    ChartKind,
    ChartOutput,
    RenderEnvironment,
    RenderError,
    ResolvedChart,
)
from tests.render.conftest import recording_listener
from tests.render.servers import ChartRepositoryServer


def chart(root: Path, kind: ChartKind) -> ResolvedChart:
    return ResolvedChart(root=root, kind=kind, name=root.name, version="0.0.0", digest="x")


def environment(helm_binary: Path) -> RenderEnvironment:
    return RenderEnvironment(
        kube_version="v1.36.3",
        api_versions=(),
        helm=helm_binary,
        kubectl=ensure_binaries()["kubectl"],
    )


def render_folder(root: Path, kind: ChartKind, helm_binary: Path) -> ChartOutput:
    """The folder `root` rendered by its engine as release ns/r, with no values."""
    engine = render_plain if kind is ChartKind.PLAIN else render_kustomize
    return engine(
        chart(root, kind),
        release_name="r",
        namespace="ns",
        values={},
        env=environment(helm_binary),
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
    output = render_folder(root, ChartKind.PLAIN, helm_binary)
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
    output = render_folder(root, ChartKind.KUSTOMIZE, helm_binary)
    (config,) = output.objects
    assert config["metadata"] == {"name": "prod-web", "labels": {"tier": "web"}}


def test_a_broken_kustomization_is_a_render_error_quoting_kustomize(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamePrefix: [not, text]\n")
    (root / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    with pytest.raises(
        RenderError, match=r"^release ns/r: chart broken: kubectl kustomize failed: "
    ):
        render_folder(root, ChartKind.KUSTOMIZE, helm_binary)


@pytest.fixture()
def listener(tmp_path: Path) -> Iterator[ChartRepositoryServer]:
    """A loopback HTTP server that records every request and would serve a ConfigMap."""
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n"
    with recording_listener(tmp_path / "served", "cm.yaml", config_map) as server:
        yield server


@pytest.mark.parametrize(
    ("kustomization", "problem"),
    [
        ("resources: [{url}/cm.yaml]\n", "is not a file or folder inside the chart"),
        ("bases: [{url}/cm.yaml]\n", "is not a file or folder inside the chart"),
        ("resources: ['git::{url}/repo.git//base?ref=v1']\n", "not a file or folder inside"),
        ("resources: [github.com/example/repo//base?ref=v1]\n", "not a file or folder inside"),
        ("resources: [../outside]\n", "'../outside' leads outside the chart"),
        ("resources: [missing.yaml]\n", "'missing.yaml' is not a file or folder inside the chart"),
        ("resources: [{host}]\n", "is an absolute path"),
        ("resources: [base]\n", "base/kustomization.yaml: '../../outside' leads outside"),
        ("resources: [linked]\n", "'linked' leads outside the chart"),
        ("patches: [{{path: ../outside/patch.yaml}}]\n", "leads outside the chart"),
        (
            "configMapGenerator: [{{name: c, files: [k=../outside/secret.txt]}}]\n",
            "'../outside/secret.txt' leads outside the chart",
        ),
    ],
    ids=[
        "url",
        "url-base",
        "git",
        "github",
        "dotdot",
        "missing",
        "absolute",
        "nested-dotdot",
        "link",
        "patch",
        "generator-file",
    ],
)
def test_a_kustomization_reaching_outside_the_chart_fails_before_kustomize_runs(
    helm_binary: Path,
    tmp_path: Path,
    listener: ChartRepositoryServer,
    kustomization: str,
    problem: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    marker = f"host-marker-{tmp_path.name}"
    (outside / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (outside / "cm.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {marker}}}\n"
    )
    (outside / "secret.txt").write_text(marker)
    root = tmp_path / "chart"
    (root / "base").mkdir(parents=True)
    (root / "base" / "kustomization.yaml").write_text("resources: [../../outside]\n")
    (root / "linked").symlink_to(outside)
    url = listener.url.removesuffix("/charts")
    (root / "kustomization.yaml").write_text(kustomization.format(url=url, host=outside))

    with pytest.raises(RenderError, match=re.escape(problem)) as raised:
        render_folder(root, ChartKind.KUSTOMIZE, helm_binary)

    assert str(raised.value).startswith("release ns/r: chart chart: ")
    assert marker not in str(raised.value)
    assert listener.requests == []


def test_a_kustomization_with_bases_and_generators_inside_the_chart_renders(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = tmp_path / "app"
    (root / "base").mkdir(parents=True)
    (root / "overlay").mkdir()
    (root / "base" / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (root / "base" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (root / "overlay" / "kustomization.yaml").write_text(
        "resources: [../base]\nconfigMapGenerator: [{name: gen, files: [k=v.txt]}]\n"
        "patches:\n- patch: |\n    - op: add\n      path: /data\n      value: {x: y}\n"
        "  target: {kind: ConfigMap, name: a}\n"
    )
    (root / "overlay" / "v.txt").write_text("value\n")
    (root / "kustomization.yaml").write_text("resources: [overlay]\n")

    output = render_folder(root, ChartKind.KUSTOMIZE, helm_binary)

    names = sorted(str(o["metadata"]["name"]) for o in output.objects)  # type: ignore[index, call-overload]
    assert names[0] == "a" and names[1].startswith("gen-")


def test_a_plugin_configuration_too_large_to_read_fails_its_release(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "gen.yaml").write_text("# " + "x" * (1 << 20) + "\n")
    (root / "kustomization.yaml").write_text("generators: [gen.yaml]\n")
    with pytest.raises(RenderError, match=r"kustomization.yaml: 'gen.yaml' is larger than"):
        render_folder(root, ChartKind.KUSTOMIZE, helm_binary)
