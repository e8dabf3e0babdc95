"""The inventory record's last result says what happened: `Applied`, or `Failed: <why>`
when the apply was refused, and `Applied` again once an apply goes through."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply.records import read_inventory
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def frozen(mode: str) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "frozen"},
        "immutable": True,
        "data": {"mode": mode},
    }


def test_a_refused_apply_is_the_records_last_result_until_an_apply_goes_through(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(namespace, "settings", chartPath=bench.chart("settings", [frozen("a")]))
    assert bench.run().releases[key].outcome is Outcome.APPLIED

    bench.chart("settings", [frozen("b")])
    failed = bench.run().releases[key]
    assert failed.outcome is Outcome.FAILED
    with bench.client() as client:
        record = read_inventory(client, key)
    assert record is not None
    assert record.result == f"Failed: {failed.message}"
    assert "immutable" in record.result

    bench.chart("settings", [frozen("a")])
    assert bench.run().releases[key].outcome is Outcome.UNCHANGED
    with bench.client() as client:
        record = read_inventory(client, key)
    assert record is not None and record.result == "Applied"
