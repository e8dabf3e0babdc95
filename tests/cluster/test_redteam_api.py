"""Red team, the JSON API across repositories: a release of repository A that depends on
(or also declares) a release of repository B shows nothing of B's beyond what A used, and
an output of B that A puts into a Secret is masked in A's API."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.loop.catalog import ReleaseCatalog
from tests import manifests
from tests.cluster.test_api_catalog import DEPENDENT_CHART, helm_chart
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster

B_ADDRESS = "db.internal:5432?sslkey=b-only-91c2"
B_OTHER = "b-private-output-55e1"


def publish_in_b(cluster: LiveCluster, namespace: str, tmp_path: Path) -> None:
    other = Workbench(cluster, tmp_path / "b", tmp_path / "cache", source=f"{namespace}/b")
    published = manifests.release_config("db", {"address": B_ADDRESS, "note": B_OTHER})
    other.release(namespace, "db", chartPath=other.chart("db", [published]))
    assert not other.run().failed


def answers_of_a(bench: Workbench, namespace: str, *names: str) -> str:
    report = bench.run()
    with bench.client() as client:
        catalog = ReleaseCatalog(client, source=bench.source)
        catalog.update(bench.desired(client), report)
        details = [catalog.release_detail(namespace, name) for name in names]
        return json.dumps([*details, catalog.list_releases({})])


def test_an_output_of_another_repository_that_a_puts_into_a_secret_is_masked_in_as_api(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    publish_in_b(cluster, namespace, tmp_path)
    bench = Workbench(cluster, tmp_path / "a", tmp_path / "cache", source=f"{namespace}/a")
    bench.release(
        namespace,
        "app",
        chartPath=helm_chart(bench, "app", DEPENDENT_CHART),
        dependencies={"db": f"{namespace}/db"},
    )

    answers = answers_of_a(bench, namespace, "app")

    assert B_ADDRESS not in answers
    assert B_OTHER in answers  # an output A used and keeps in no Secret: shown as used


def test_a_release_a_also_declares_shows_nothing_of_bs_record_in_as_api(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    publish_in_b(cluster, namespace, tmp_path)
    bench = Workbench(cluster, tmp_path / "a", tmp_path / "cache", source=f"{namespace}/a")
    mine = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "db"}, "data": {}}
    bench.release(namespace, "db", chartPath=bench.chart("db", [mine]))

    answers = answers_of_a(bench, namespace, "db")

    assert B_ADDRESS not in answers
    assert B_OTHER not in answers
    assert "belongs to" in answers
