"""Kustomize plugin configurations (`generators`, `transformers`: inline, in a file, or a
folder of them) and `helmCharts` must not make `kubectl kustomize` fetch a URL or read a
host file during render (test_manifests.py covers the kustomization's own fields)."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.release_requests.model import ChartPath
from reconciler.render.charts import resolve_chart
from reconciler.render.manifests.engines import render_kustomize
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
    "component": "resources: [cm.yaml]\ncomponents: [{url}/component]\n",
    "openapi": "resources: [cm.yaml]\nopenapi: {{path: {url}/openapi.json}}\n",
    "replacement": "resources: [cm.yaml]\nreplacements: [{{path: {url}/r.yaml}}]\n",
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


class ConnectionCounter:
    """A loopback port that accepts and counts connections (a TLS hello included)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


def chart_lock_naming(repository: str) -> str:
    """A Chart.lock whose digest matches (helm checks only that), naming `repository`."""
    required = [{"name": "dep", "version": "1.0.0", "repository": "file://../dep"}]
    locked = [{"name": "dep", "version": "1.0.0", "repository": repository}]
    payload = json.dumps([required, locked], separators=(",", ":")).encode()
    return (
        f"dependencies:\n- name: dep\n  repository: {repository}\n  version: 1.0.0\n"
        f"digest: sha256:{hashlib.sha256(payload).hexdigest()}\n"
        'generated: "2026-01-01T00:00:00Z"\n'
    )


def test_a_chart_lock_naming_a_registry_does_not_make_the_file_dependency_build_fetch(
    helm_binary: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "repository"
    dep = repository / "charts" / "dep"
    app = repository / "charts" / "app"
    for folder, extra in ((dep, ""), (app, DEPENDS_ON_DEP)):
        (folder / "templates").mkdir(parents=True)
        (folder / "Chart.yaml").write_text(
            f"apiVersion: v2\nname: {folder.name}\nversion: 1.0.0\n{extra}"
        )
        (folder / "templates" / "cm.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {folder.name}}}\n"
        )
    counter = ConnectionCounter()
    try:
        (app / "Chart.lock").write_text(chart_lock_naming(f"oci://127.0.0.1:{counter.port}/c"))
        chart = resolve_chart(
            ChartPath("charts/app"),
            repository_root=repository,
            chart_repositories={},
            cache_dir=tmp_path / "cache",
            helm=helm_binary,
        )
    finally:
        counter.stop()
    assert counter.connections == 0
    assert (chart.root / "charts" / "dep-1.0.0.tgz").is_file()


DEPENDS_ON_DEP = "dependencies:\n- name: dep\n  version: 1.0.0\n  repository: file://../dep\n"
