"""A StatefulSet whose controller cannot create its pods says why: the message of the
controller's `FailedCreate` Event, not only "no pod created"."""

from __future__ import annotations

from pathlib import Path

from reconciler.reconcile import Outcome
from reconciler.types import JsonObject
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster

MISSING_PRIORITY = "no PriorityClass with name low-priority was found"


def stateful_set(name: str) -> JsonObject:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "low-priority",
                    "containers": [{"name": "app", "image": "registry.invalid/app:1"}],
                },
            },
        },
    }


def test_a_statefulset_that_cannot_create_pods_names_the_controllers_reason(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(
        namespace, "zk", chartPath=bench.chart("zk", [stateful_set("zk")]), timeoutSec=5
    )

    report = bench.run().releases[key]

    assert report.outcome is Outcome.FAILED, report
    assert f"StatefulSet {namespace}/zk is Pending: FailedCreate (0 of 1 replicas ready" in (
        report.message
    )
    assert MISSING_PRIORITY in report.message, report.message
