"""A pass at a new commit rewrites only the records of the releases it changed (issue 26,
"one release changed"): the record's revision is the commit at which its release last
changed, so a commit that changes one release of three writes one record, and
`harmonia status` and the API show each release's own revision."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.apply.inventory import inventory_name
from reconciler.loop.catalog import ReleaseCatalog
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject, ReleaseKey
from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def settings(name: str, mode: str = "fast") -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"mode": mode},
    }


def record_configmap(cluster: LiveCluster, key: ReleaseKey) -> tuple[str, str]:
    """The resourceVersion of the release's inventory ConfigMap and the revision it holds."""
    namespace = key.split("/")[0]
    found = cluster.kubectl("-n", namespace, "get", "configmap", inventory_name(key), "-o", "json")
    configmap = json.loads(found.stdout)
    record = json.loads(configmap["data"]["inventory.json"])
    return configmap["metadata"]["resourceVersion"], record["revision"]


def test_a_commit_changing_one_release_of_three_rewrites_its_record_alone(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    names = ("one", "two", "three")
    keys = {
        name: bench.release(namespace, name, chartPath=bench.chart(name, [settings(name)]))
        for name in names
    }
    first = bench.run()
    assert {first.releases[key].outcome for key in keys.values()} == {Outcome.APPLIED}
    before = {name: record_configmap(cluster, key) for name, key in keys.items()}
    assert {revision for _version, revision in before.values()} == {"rev-1"}

    bench.chart("two", [settings("two", mode="slow")])
    second = bench.run()

    outcomes = {name: second.releases[key].outcome for name, key in keys.items()}
    assert outcomes == {
        "one": Outcome.UNCHANGED,
        "two": Outcome.APPLIED,
        "three": Outcome.UNCHANGED,
    }
    after = {name: record_configmap(cluster, key) for name, key in keys.items()}
    assert after["one"] == before["one"] and after["three"] == before["three"]
    assert after["two"][0] != before["two"][0] and after["two"][1] == "rev-2"

    shown = harmonia(cluster, "status", "-n", namespace, "-o", "json")
    assert shown.returncode == 0, shown.stderr
    by_status = {item["name"]: item["revision"] for item in json.loads(shown.stdout)}
    expected = {"one": "rev-1", "two": "rev-2", "three": "rev-1"}
    assert by_status == expected
    with bench.client() as client:
        catalog = ReleaseCatalog(client, source=bench.source)
        catalog.update(bench.desired(client), second)
        listed = catalog.list_releases({"namespace": namespace})["releases"]
    assert {item["name"]: item["revision"] for item in listed} == expected
