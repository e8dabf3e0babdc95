"""The API's catalog against the real cluster: after a pass, the list and the detail show
each release's state and resources, filter by namespace and release labels, never show a
Secret's value (nor an output a dependent put into one), answer 404 for a release nobody
knows, and show another repository's releases only when told to show all."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.kube.client import KubeClient
from reconciler.kube.connection import KubeTarget
from reconciler.loop.catalog import ReleaseCatalog
from reconciler.loop.errors import ApiError
from reconciler.loop.event_bus import EventBus
from reconciler.loop.events import Notice, emit_notices
from reconciler.outcome import Outcome
from reconciler.reconcile import PassReport, ReleaseReport
from reconciler.types import JsonObject, release_key
from tests import manifests
from tests.cluster.accounts import namespace_kubeconfig
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
    bench: Workbench


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
        catalog = ReleaseCatalog(client, source=bench.source)
        catalog.update(bench.desired(client), report)
        yield AfterPass(catalog, client, bench)


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
    fresh = ReleaseCatalog(after_pass.client, source=after_pass.bench.source)
    (view,) = fresh.views(release=release_key(namespace, "web"))
    assert view.release is None and view.report is None
    assert view.status is not None and str(view.status.health.state) == "Ready"
    body = fresh.release_detail(namespace, "web")
    assert (body["spec"], body["labels"], body["lastPass"]) == (None, {}, None)


OTHER_OUTPUT = "other-repository-output-5e2b"


def test_another_repositorys_releases_and_outputs_show_only_when_all_are_asked_for(
    after_pass: AfterPass, cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    other = Workbench(cluster, tmp_path / "other-repo", tmp_path / "other-cache")
    published = manifests.release_config("theirs", {"endpoint": OTHER_OUTPUT})
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}}
    other.release(namespace, "theirs", chartPath=other.chart("theirs", [published, settings]))
    assert other.run().releases[release_key(namespace, "theirs")].ready is True

    catalog = after_pass.catalog
    listed = catalog.list_releases({"namespace": namespace})
    assert [item["name"] for item in listed["releases"]] == ["store", "web"]
    with pytest.raises(ApiError) as raised:
        catalog.release_detail(namespace, "theirs")
    assert raised.value.status == 404
    assert raised.value.message == (
        f"release {namespace}/theirs: not in this repository nor recorded under this source"
    )
    assert OTHER_OUTPUT not in json.dumps(catalog.list_releases({}))

    every = ReleaseCatalog(after_pass.client, source=None)
    listed = every.list_releases({"namespace": namespace})
    assert [item["name"] for item in listed["releases"]] == ["store", "theirs", "web"]
    assert every.release_detail(namespace, "theirs")["outputs"] == {"endpoint": OTHER_OUTPUT}


DEPENDENT_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "templates/secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n"
        "stringData:\n  dsn: {{ .Values.dependencies.db.address | quote }}\n"
    ),
}
DB_ADDRESS = "db.internal:5432?sslkey=7f3a9c"
"""An output of `db` whose key names no secret, which its dependent puts into a Secret."""


def test_an_output_that_a_dependent_puts_into_a_secret_is_masked_in_the_publishers_detail(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    published = manifests.release_config("db", {"address": DB_ADDRESS, "port": 5432})
    bench.release(namespace, "db", chartPath=bench.chart("db", [published]))
    bench.release(
        namespace,
        "app",
        chartPath=helm_chart(bench, "app", DEPENDENT_CHART),
        dependencies={"db": "db"},
    )
    report = bench.run()
    with bench.client() as client:
        catalog = ReleaseCatalog(client, source=bench.source)
        catalog.update(bench.desired(client), report)
        db = catalog.release_detail(namespace, "db")
        app = catalog.release_detail(namespace, "app")
        listed = catalog.list_releases({"namespace": namespace})
    assert db["outputs"] == {"address": "***", "port": 5432}
    assert app["dependencies"]["db"]["outputs"]["address"] == "***"
    assert DB_ADDRESS not in json.dumps([db, app, listed])


def test_an_event_reason_holding_a_chart_secret_value_is_masked_on_the_bus(
    after_pass: AfterPass, namespace: str
) -> None:
    """A readiness message between passes is the cluster's text: it may quote a value the
    release put into a Secret, which the stream must not carry."""
    bus = EventBus(redact=after_pass.catalog.masked)
    subscriber = bus.subscribe(lambda: None, last_id="replay all")
    store = release_key(namespace, "store")
    notice = Notice("Warning", "Degraded", f"Secret/{namespace}/store: bad value {CONNECTION}")
    bus.publish(store, [notice], revision="rev-1")
    [event] = subscriber.take()
    assert CONNECTION not in json.dumps(event.to_json())
    assert event.reason == f"Secret/{namespace}/store: bad value ***"


def test_the_detail_lists_the_last_ten_passes_newest_first(
    after_pass: AfterPass, namespace: str
) -> None:
    store = release_key(namespace, "store")
    for number in range(2, 14):
        report = ReleaseReport(store, Outcome.UNCHANGED, f"pass {number}", seconds=0.25)
        after_pass.catalog.update_releases(PassReport(f"rev-{number}", {store: report}))

    passes = after_pass.catalog.release_detail(namespace, "store")["recentPasses"]
    assert len(passes) == 10
    assert [item["revision"] for item in passes] == [f"rev-{n}" for n in range(13, 3, -1)]
    assert passes[0]["outcome"] == "Unchanged" and passes[0]["message"] == "pass 13"
    web = after_pass.catalog.release_detail(namespace, "web")["recentPasses"]
    assert [(item["revision"], item["outcome"]) for item in web] == [("rev-1", "Applied")]


def core_event(namespace: str, name: str, kind: str, about: str, message: str) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": kind, "namespace": namespace, "name": about},
        "type": "Warning",
        "reason": "Tested",
        "message": message,
        "lastTimestamp": "2000-01-01T00:00:00Z",
        "count": 1,
    }


def test_the_detail_shows_the_releases_events_newest_first_and_masked(
    after_pass: AfterPass, namespace: str
) -> None:
    client = after_pass.client
    store = release_key(namespace, "store")
    emit_notices(client, store, [Notice("Warning", "Failed", f"bad {CONNECTION}")], instance="t")
    client.create(core_event(namespace, "on-store", "ConfigMap", "store", "old, on its object"))
    client.create(core_event(namespace, "on-web", "ConfigMap", "web", "another release's"))

    body = after_pass.catalog.release_detail(namespace, "store")

    assert body["eventsProblem"] is None
    assert [(item["reason"], item["object"]) for item in body["events"]] == [
        ("Failed", "ConfigMap/harmonia-inventory-store"),
        ("Tested", "ConfigMap/store"),
    ]
    assert body["events"][0]["message"] == "bad ***"
    assert CONNECTION not in json.dumps(body)


def test_events_that_cannot_be_read_are_a_line_of_the_detail_not_a_failure(
    after_pass: AfterPass, cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    """A reconciler whose role may read its releases' objects but not Events."""
    role = f"{namespace}-no-events"
    rule = ("--verb=get,list,watch", "--resource=configmaps,secrets,pods")
    cluster.kubectl("create", "clusterrole", role, *rule)
    try:
        kubeconfig = namespace_kubeconfig(cluster, namespace, tmp_path, role=role)
        target = KubeTarget(kubeconfig)
        with KubeClient.connect(target, cache_dir=tmp_path / "restricted-cache") as client:
            catalog = ReleaseCatalog(client, source=after_pass.bench.source)
            catalog.update(after_pass.bench.desired(after_pass.client), PassReport("rev-1", {}))
            body = catalog.release_detail(namespace, "store")
    finally:
        cluster.kubectl("delete", "clusterrole", role)
    assert body["state"] == "Ready" and body["events"] == []
    problem = body["eventsProblem"]
    assert problem.startswith(f"Events of release {namespace}/store could not be read: "), problem


def test_the_last_change_keeps_the_objects_created_with_their_diffs_the_secret_masked(
    after_pass: AfterPass, namespace: str
) -> None:
    store = release_key(namespace, "store")
    quiet = ReleaseReport(store, Outcome.UNCHANGED, "nothing to do")
    after_pass.catalog.update_releases(PassReport("rev-2", {store: quiet}))

    body = after_pass.catalog.release_detail(namespace, "store")

    assert body["lastPass"]["outcome"] == "Unchanged"
    change = body["lastChange"]
    assert (change["revision"], change["outcome"]) == ("rev-1", "Applied")
    diffs = {item["subject"]: item["diff"] for item in change["changes"]["changes"]}
    assert set(diffs) == {f"Secret/{namespace}/store", f"ConfigMap/{namespace}/store"}
    assert "+  greeting: hi" in diffs[f"ConfigMap/{namespace}/store"]
    assert "connection: '***'" in diffs[f"Secret/{namespace}/store"]
    text = json.dumps(body)
    assert CONNECTION not in text
    assert base64.b64encode(CONNECTION.encode()).decode() not in text
