"""The API's catalog against the real cluster: after a pass, the list and the detail show
each release's state and resources, filter by namespace and release labels, never show a
Secret's value, and answer 404 for a release nobody knows."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.kube.client import KubeClient
from reconciler.loop.catalog import ReleaseCatalog
from reconciler.loop.errors import ApiError
from reconciler.types import release_key
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster

CONNECTION = "postgres-connection-8d1f0c"
"""A chart value the chart puts into a Secret (its key names no secret)."""

SECRET_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: store\nversion: 0.1.0\n",
    "values.yaml": "connection: ''\ngreeting: hello\n",
    "templates/secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: store\n"
        "stringData:\n  connection: {{ .Values.connection | quote }}\n"
    ),
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: store\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    ),
}


def helm_chart(bench: Workbench, name: str, files: dict[str, str]) -> str:
    for relative, text in files.items():
        path = bench.root / "charts" / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return f"charts/{name}"


@dataclass(frozen=True)
class AfterPass:
    catalog: ReleaseCatalog
    client: KubeClient


@pytest.fixture()
def after_pass(cluster: LiveCluster, namespace: str, tmp_path: Path) -> Iterator[AfterPass]:
    """A catalog after one pass of two releases: `store` (a Helm chart with a Secret and a
    ConfigMap, team data) and `web` (plain manifests, team web)."""
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    bench.release(
        namespace,
        "store",
        chartPath=helm_chart(bench, "store", SECRET_CHART),
        configValues={"connection": CONNECTION, "greeting": "hi", "adminPassword": "by-key"},
        releaseLabels={"team": "data"},
    )
    web = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}, "data": {}}
    bench.release(
        namespace, "web", chartPath=bench.chart("web", [web]), releaseLabels={"team": "web"}
    )
    report = bench.run()
    with bench.client() as client:
        catalog = ReleaseCatalog(client)
        catalog.update(bench.desired(client), report)
        yield AfterPass(catalog, client)


def test_the_list_shows_each_release_state_after_a_pass(
    after_pass: AfterPass, namespace: str
) -> None:
    catalog = after_pass.catalog
    body = catalog.list_releases({"namespace": namespace})
    summaries = {item["name"]: item for item in body["releases"]}
    assert body["count"] == 2 and body["problems"] == []
    assert summaries["store"]["state"] == "Ready"
    assert summaries["store"]["outcome"] == "Applied"
    assert summaries["store"]["revision"] == "rev-1"
    assert summaries["store"]["chart"] == {"chartPath": "charts/store"}
    assert summaries["web"]["labels"] == {"team": "web"}


def test_the_list_filters_by_release_labels(after_pass: AfterPass, namespace: str) -> None:
    catalog = after_pass.catalog
    data = catalog.list_releases({"namespace": namespace, "labelSelector": "team=data"})
    assert [item["name"] for item in data["releases"]] == ["store"]
    others = catalog.list_releases({"namespace": namespace, "labelSelector": "team notin (data)"})
    assert [item["name"] for item in others["releases"]] == ["web"]


def test_the_detail_shows_the_resources_and_masks_the_secret(
    after_pass: AfterPass, namespace: str
) -> None:
    catalog = after_pass.catalog
    body = catalog.release_detail(namespace, "store")
    assert body["state"] == "Ready"
    resources = {(item["kind"], item["name"]): item["state"] for item in body["resources"]}
    assert resources == {("Secret", "store"): "Ready", ("ConfigMap", "store"): "Ready"}
    assert body["computedValues"]["connection"] == "***"
    assert body["computedValues"]["greeting"] == "hi"
    assert body["spec"]["configValues"] == {
        "connection": "***",
        "greeting": "hi",
        "adminPassword": "***",
    }
    assert body["lastPass"]["outcome"] == "Applied"
    text = json.dumps([body, catalog.list_releases({})])
    assert CONNECTION not in text
    assert base64.b64encode(CONNECTION.encode()).decode() not in text
    assert "by-key" not in text


def test_an_unknown_release_is_not_found(after_pass: AfterPass, namespace: str) -> None:
    catalog = after_pass.catalog
    for where, name in ((namespace, "nothing"), ("no-such-namespace", "store"), ("Bad_Ns", "x")):
        with pytest.raises(ApiError) as raised:
            catalog.release_detail(where, name)
        assert raised.value.status == 404


def test_before_any_pass_the_catalog_shows_the_releases_in_the_cluster(
    after_pass: AfterPass, namespace: str
) -> None:
    fresh = ReleaseCatalog(after_pass.client)
    (view,) = fresh.views(release=release_key(namespace, "web"))
    assert view.release is None and view.report is None
    assert view.status is not None and str(view.status.health.state) == "Ready"
    body = fresh.release_detail(namespace, "web")
    assert (body["spec"], body["labels"], body["lastPass"]) == (None, {}, None)
