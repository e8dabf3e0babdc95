"""Helm hooks on the real cluster: pre-install Jobs run to completion in weight order
before the release's objects, post-install ones after it is Ready, delete policies
are honoured, and hooks stay out of the inventory and of later passes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.apply.records import read_inventory
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def hook_job(name: str, event: str, weight: int, policy: str | None = None) -> JsonObject:
    annotations = {"helm.sh/hook": event, "helm.sh/hook-weight": str(weight)}
    if policy:
        annotations["helm.sh/hook-delete-policy"] = policy
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "run", "image": "registry.invalid/tools:1"}],
                }
            },
        },
    }


def app() -> JsonObject:
    labels = {"app": "shop"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "shop", "image": "registry.invalid/shop:1"}]},
            },
        },
    }


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def get(cluster: LiveCluster, namespace: str, kind: str, name: str) -> Any:
    found = cluster.kubectl("-n", namespace, "get", kind, name, "-o", "json", check=False)
    return json.loads(found.stdout) if found.returncode == 0 else None


def test_hooks_run_in_order_around_the_release_and_only_when_it_changes(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart(
        "shop",
        [
            app(),
            hook_job("migrate", "pre-install", 5),
            hook_job("schema", "pre-install", -5),
            hook_job("smoke", "post-install", 0, policy="hook-succeeded"),
        ],
    )
    key = bench.release(namespace, "shop", chartPath=chart)
    report = bench.run().releases[key]
    assert report.outcome is Outcome.APPLIED, report.message
    assert report.message.index("Job/" + namespace + "/schema") < report.message.index(
        "Job/" + namespace + "/migrate"
    )
    assert f"hook Job/{namespace}/smoke completed" in report.message

    schema, migrate = (
        get(cluster, namespace, "job", "schema"),
        get(cluster, namespace, "job", "migrate"),
    )
    deployment = get(cluster, namespace, "deployment", "shop")
    assert when(schema["status"]["completionTime"]) <= when(
        migrate["metadata"]["creationTimestamp"]
    )
    assert when(migrate["status"]["completionTime"]) <= when(
        deployment["metadata"]["creationTimestamp"]
    )
    assert get(cluster, namespace, "job", "smoke") is None, "hook-succeeded deletes the hook"

    with bench.client() as client:
        record = read_inventory(client, key)
    assert record is not None
    assert {entry.ref.kind for entry in record.entries} == {"Deployment"}

    again = bench.run().releases[key]
    assert again.outcome is Outcome.UNCHANGED
    assert (
        get(cluster, namespace, "job", "migrate")["metadata"]["uid"] == migrate["metadata"]["uid"]
    )
