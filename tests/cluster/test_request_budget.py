"""A pass with nothing to do costs requests per kind and namespace, never per release.

Counted by the client that sends them (`KubeClient.requests_sent`), on the real dev
cluster: doubling the releases of two namespaces leaves the count of a no-op pass as
it was, and the no-op writes nothing (no inventory rewritten, no dry-run). A pass that
installs a release writes its record twice, an upgrade once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from reconciler.apply.inventory import inventory_name, record_from_configmap
from reconciler.reconcile import Outcome, PassOptions, reconcile
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def app(name: str) -> list[JsonObject]:
    """The five kinds of the benchmark's releases, a one-replica Deployment among them."""
    labels = {"app": name}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "stringData": {"k": "v"},
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": labels, "ports": [{"port": 80}]},
        },
        manifests.workload("Deployment", name, pod={"serviceAccountName": name}, replicas=1),
    ]


@pytest.fixture()
def namespaces(cluster: LiveCluster, namespace: str) -> Iterator[tuple[str, str]]:
    """Two namespaces: the test's own, and a second one Harmonia creates."""
    second = f"{namespace[:50]}-b"
    try:
        yield namespace, second
    finally:
        api = k8s.CoreV1Api(cluster.api())
        try:
            api.delete_namespace(second)
        except k8s.ApiException as error:
            if error.status != 404:
                raise
        api.api_client.close()


def no_op_requests(
    bench: Workbench, count: int, namespaces: tuple[str, str], *, new_commit: bool = False
) -> int:
    """Apply `count` releases per namespace and wait for them; then count the requests of
    a second pass over the same commit (or a new one changing none of them), which must
    find nothing to do."""
    for namespace in namespaces:
        for number in range(count):
            name = f"app-{number}"
            bench.release(namespace, name, chartPath=bench.chart(name, app(name)))
    first = bench.run()
    assert not first.failed, first.to_json()
    with bench.client() as client:
        state = bench.desired(client)
        before = client.requests_sent
        bench.revision += 1 if new_commit else 0
        report = reconcile(client, state, PassOptions(f"rev-{bench.revision}", bench.source))
        sent = client.requests_sent - before
    assert {r.outcome for r in report.releases.values()} == {Outcome.UNCHANGED}, report.to_json()
    assert all(r.ready for r in report.releases.values())
    return sent


def test_a_no_op_pass_sends_as_many_requests_for_twice_the_releases(
    cluster: LiveCluster, tmp_path: Path, namespaces: tuple[str, str]
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    with_three = no_op_requests(bench, 3, namespaces)
    with_six = no_op_requests(bench, 6, namespaces)
    print(f"no-op pass: {with_three} requests for 6 releases, {with_six} for 12")
    assert with_six == with_three
    # One inventory list; per namespace a list of each of the five kinds (the namespace is
    # not asked for: a release with a record has its namespace, where the record lives).
    # No pods: Deployments Ready by their status need none to be judged.
    assert with_three == 1 + 2 * 5


def test_a_pass_at_a_new_commit_that_changes_no_release_writes_no_record(
    cluster: LiveCluster, tmp_path: Path, namespaces: tuple[str, str]
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    # As at the same commit: the records keep the revision that last changed them.
    assert no_op_requests(bench, 3, namespaces, new_commit=True) == 1 + 2 * 5


def inventory_writes(bench: Workbench, key: ReleaseKey) -> list[JsonObject]:
    """One pass over a new commit; the release's inventory records it wrote, in order.

    The client's `apply` is watched, not replaced: every request still reaches the cluster.
    """
    bench.revision += 1
    written: list[JsonObject] = []
    with bench.client() as client:
        state = bench.desired(client)
        send = client.apply

        def watched(obj: JsonObject, **options: Any) -> JsonObject:
            metadata: Any = obj.get("metadata") or {}
            if obj.get("kind") == "ConfigMap" and metadata.get("name") == inventory_name(key):
                written.append(obj)
            return send(obj, **options)

        client.apply = watched  # type: ignore[method-assign]
        report = reconcile(client, state, PassOptions(f"rev-{bench.revision}", bench.source))
    assert report.releases[key].outcome is Outcome.APPLIED, report.to_json()
    assert report.releases[key].ready
    return written


def test_a_release_records_its_inventory_before_its_objects_and_once_it_is_ready(
    cluster: LiveCluster, tmp_path: Path, namespace: str
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(namespace, "app", chartPath=bench.chart("app", app("app")))
    installed = [record_from_configmap(cm) for cm in inventory_writes(bench, key)]
    print("new release: inventory written", [(r.result, r.ready_since) for r in installed])
    # Before the writes: the five objects it is about to create, not yet applied.
    assert [(r.result, bool(r.ready_since)) for r in installed] == [
        ("Applying", False),
        ("Applied", True),
    ]
    assert {entry.ref.kind for entry in installed[0].entries} == {
        "ServiceAccount", "Secret", "ConfigMap", "Service", "Deployment",
    }  # fmt: skip
    assert all(entry.digest and entry.resource_version for entry in installed[1].entries)

    changed = app("app")
    changed[2]["data"] = {"k": "changed"}
    bench.chart("app", changed)
    upgraded = [record_from_configmap(cm) for cm in inventory_writes(bench, key)]
    # No object is new: one record, written once the release is Ready again.
    assert [(r.result, bool(r.ready_since)) for r in upgraded] == [("Applied", True)]
