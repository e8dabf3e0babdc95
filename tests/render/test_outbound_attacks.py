"""Kustomize plugin configurations (`generators`, `transformers`: inline, in a file, or a
folder of them) and `helmCharts` must not make `kubectl kustomize` fetch a URL or read a
host file during render (test_manifests.py covers the kustomization's own fields)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.render.manifests import render_kustomize
from reconciler.render.model import ChartKind, RenderError
from tests.render.servers import ChartRepositoryServer
from tests.render.test_manifests import chart, environment


@pytest.fixture()
def probe(tmp_path: Path) -> Iterator[ChartRepositoryServer]:
    served = tmp_path / "served"
    served.mkdir()
    (served / "probe.txt").write_text("fetched\n")
    (served / "patch.yaml").write_text("- op: add\n  path: /data/p\n  value: fetched\n")
    server = ChartRepositoryServer(served)
    try:
        yield server
    finally:
        server.stop()


INLINE = {
    "generator": (
        "resources: [cm.yaml]\n"
        "generators:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n"
        "  metadata: {{name: probe}}\n  files: [{url}/probe.txt]\n"
    ),
    "generator-host": (
        "resources: [cm.yaml]\n"
        "generators:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n"
        "  metadata: {{name: probe}}\n  files: [{host}]\n"
    ),
    "transformer": (
        "resources: [cm.yaml]\n"
        "transformers:\n- |-\n  apiVersion: builtin\n  kind: PatchTransformer\n"
        "  metadata: {{name: probe}}\n  path: {url}/patch.yaml\n"
        "  target: {{kind: ConfigMap}}\n"
    ),
    "generator-file": "resources: [cm.yaml]\ngenerators: [gen.yaml]\n",
    "generator-folder": "resources: [cm.yaml]\ngenerators: [gens]\n",
    "helm": ("helmCharts:\n- name: probe\n  repo: {url}\n  version: 1.0.0\n"),
}


@pytest.mark.parametrize("kustomization", INLINE.values(), ids=INLINE.keys())
def test_a_kustomize_plugin_configuration_naming_a_url_or_host_file_fails_and_fetches_nothing(
    helm_binary: Path, tmp_path: Path, probe: ChartRepositoryServer, kustomization: str
) -> None:
    host = tmp_path / "host-secret.txt"
    host.write_text("host-marker\n")
    root = tmp_path / "chart"
    root.mkdir()
    (root / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    url = probe.url.removesuffix("/charts")
    config = (
        "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: probe}\n"
        f"files: [{url}/probe.txt]\n"
    )
    (root / "gen.yaml").write_text(config)
    (root / "gens").mkdir()
    (root / "gens" / "kustomization.yaml").write_text("resources: [gen.yaml]\n")
    (root / "gens" / "gen.yaml").write_text(config)
    (root / "kustomization.yaml").write_text(kustomization.format(url=url, host=host))
    with pytest.raises(RenderError) as raised:
        render_kustomize(
            chart(root, ChartKind.KUSTOMIZE),
            release_name="r",
            namespace="ns",
            values={},
            env=environment(helm_binary),
        )
    assert str(raised.value).startswith("release ns/r: chart chart: ")
    assert "host-marker" not in str(raised.value)
    assert probe.requests == []


def test_a_plugin_configuration_naming_files_inside_the_chart_still_renders(
    helm_binary: Path, tmp_path: Path
) -> None:
    root = tmp_path / "chart"
    root.mkdir()
    (root / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (root / "v.txt").write_text("inside\n")
    (root / "patch.yaml").write_text("- op: add\n  path: /data\n  value: {p: patched}\n")
    (root / "gen.yaml").write_text(
        "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: gen}\nfiles: [v.txt]\n"
    )
    (root / "kustomization.yaml").write_text(
        "resources: [cm.yaml]\ngenerators: [gen.yaml]\n"
        "transformers:\n- |-\n  apiVersion: builtin\n  kind: PatchTransformer\n"
        "  metadata: {name: p}\n  path: patch.yaml\n  target: {kind: ConfigMap, name: a}\n"
    )
    output = render_kustomize(
        chart(root, ChartKind.KUSTOMIZE),
        release_name="r",
        namespace="ns",
        values={},
        env=environment(helm_binary),
    )
    data = {str(o["metadata"]["name"]): o.get("data") for o in output.objects}  # type: ignore[index, call-overload]
    assert data["a"] == {"p": "patched"}
    assert [v for k, v in data.items() if k.startswith("gen-")] == [{"v.txt": "inside\n"}]
