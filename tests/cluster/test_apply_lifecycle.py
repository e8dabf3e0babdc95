"""Pause, resume and restart on the real cluster: a paused release scales to zero and
keeps its volumes, stays paused through an upgrade, comes back at its old size,
and a new restartedAt rolls its workloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.apply.lifecycle import PAUSED_REPLICAS_ANNOTATION, RESTARTED_AT_ANNOTATION
from reconciler.types import JsonObject
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.waiting import wait_for


def workloads(image: str = "registry.invalid/app:1") -> list[JsonObject]:
    def template(app: str) -> JsonObject:
        return {
            "metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "app", "image": image}]},
        }

    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": template("web"),
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": template("db"),
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent")},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "job", "image": image}],
                            }
                        }
                    }
                },
            },
        },
    ]


def live(cluster: LiveCluster, namespace: str, kind: str, name: str) -> Any:
    return json.loads(cluster.kubectl("-n", namespace, "get", kind, name, "-o", "json").stdout)


def test_pause_scales_to_zero_survives_an_upgrade_and_resume_restores(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart("app", workloads())
    bench.release(namespace, "app", chartPath=chart)
    bench.run()
    wait_for(
        lambda: live(cluster, namespace, "pvc", "data-db-1")["status"].get("phase"),
        until=lambda phase: phase == "Bound",
        what="claim data-db-1 bound",
    )

    bench.release(namespace, "app", chartPath=chart, paused=True)
    bench.run()
    web = live(cluster, namespace, "deploy", "web")
    assert web["spec"]["replicas"] == 0
    assert web["metadata"]["annotations"][PAUSED_REPLICAS_ANNOTATION] == "3"
    db = live(cluster, namespace, "statefulset", "db")
    assert (db["spec"]["replicas"], db["metadata"]["annotations"][PAUSED_REPLICAS_ANNOTATION]) == (
        0,
        "2",
    )
    assert live(cluster, namespace, "cronjob", "nightly")["spec"]["suspend"] is True
    agent = live(cluster, namespace, "daemonset", "agent")
    assert agent["spec"]["template"]["spec"]["nodeSelector"] == {"harmonia.dev/paused": "true"}
    wait_for(
        lambda: cluster.kubectl("-n", namespace, "get", "pods", "-o", "name").stdout.split(),
        until=lambda pods: not pods,
        what="every pod gone while paused",
    )
    assert live(cluster, namespace, "pvc", "data-db-0")["status"]["phase"] == "Bound"

    bench.chart("app", workloads(image="registry.invalid/app:2"))  # an upgrade while paused
    bench.run()
    web = live(cluster, namespace, "deploy", "web")
    assert web["spec"]["replicas"] == 0
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.invalid/app:2"

    bench.release(namespace, "app", chartPath=chart, paused=False)
    bench.run()
    web = live(cluster, namespace, "deploy", "web")
    assert web["spec"]["replicas"] == 3
    assert PAUSED_REPLICAS_ANNOTATION not in (web["metadata"].get("annotations") or {})
    assert live(cluster, namespace, "statefulset", "db")["spec"]["replicas"] == 2
    assert live(cluster, namespace, "cronjob", "nightly")["spec"].get("suspend") is not True
    agent = live(cluster, namespace, "daemonset", "agent")
    assert "nodeSelector" not in agent["spec"]["template"]["spec"]
    wait_for(
        lambda: live(cluster, namespace, "deploy", "web")["status"].get("availableReplicas"),
        until=lambda n: n == 3,
        what="web available again at 3",
    )


def test_a_new_restarted_at_rolls_the_workloads(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart("app", workloads()[:1])
    bench.release(namespace, "app", chartPath=chart)
    bench.run()
    first_rs = wait_for(
        lambda: cluster.kubectl("-n", namespace, "get", "rs", "-o", "name").stdout.split(),
        until=lambda names: len(names) == 1,
        what="the first ReplicaSet",
    )
    bench.release(namespace, "app", chartPath=chart, restartedAt="2026-11-23T10:00:00Z")
    bench.run()
    web = live(cluster, namespace, "deploy", "web")
    stamp = web["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT_ANNOTATION]
    assert stamp.startswith("2026-11-23T10:00:00")
    assert web["spec"]["strategy"]["type"] == "RollingUpdate"
    names = wait_for(
        lambda: cluster.kubectl("-n", namespace, "get", "rs", "-o", "name").stdout.split(),
        until=lambda found: len(found) == 2,
        what="a second ReplicaSet (the rollout)",
    )
    assert set(first_rs) < set(names)
    # The same restartedAt again rolls nothing.
    bench.run()
    assert len(cluster.kubectl("-n", namespace, "get", "rs", "-o", "name").stdout.split()) == 2
