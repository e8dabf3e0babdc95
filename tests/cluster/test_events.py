"""Events against the real cluster: an applied release's event lands on its inventory
ConfigMap (found by kubectl as `describe` finds it), and one the API server refuses is
logged, never raised."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from reconciler.loop.events import emit_events
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.types import ReleaseKey
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def events_on(cluster: LiveCluster, namespace: str, name: str) -> list[Any]:
    listed = cluster.kubectl(
        "get",
        "events",
        "-n",
        namespace,
        "--field-selector",
        f"involvedObject.name={name}",
        "-o",
        "json",
    )
    items: list[Any] = json.loads(listed.stdout)["items"]
    return items


def test_an_applied_release_gets_an_applied_event_on_its_inventory(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {}}
    key = bench.release(namespace, "app", chartPath=bench.chart("app", [config_map]))
    report = bench.run().releases[key]
    assert report.outcome is Outcome.APPLIED
    with bench.client() as client:
        emit_events(client, report, revision="rev-1", instance="test-instance")

    (event,) = events_on(cluster, namespace, "harmonia-inventory-app")
    assert (event["type"], event["reason"]) == ("Normal", "Applied")
    assert event["message"] == "revision rev-1 applied: 1 created"
    assert event["reportingInstance"] == "test-instance"
    inventory = json.loads(
        cluster.kubectl(
            "get", "configmap", "-n", namespace, "harmonia-inventory-app", "-o", "json"
        ).stdout
    )
    assert event["involvedObject"]["uid"] == inventory["metadata"]["uid"]
    described = cluster.kubectl("describe", "configmap", "-n", namespace, "harmonia-inventory-app")
    assert "revision rev-1 applied: 1 created" in described.stdout


def test_an_event_the_cluster_refuses_is_logged_not_raised(
    cluster: LiveCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    report = ReleaseReport(
        ReleaseKey("no-such-namespace-4e1a/app"), Outcome.FAILED, "render failed"
    )
    with bench.client() as client, caplog.at_level(logging.WARNING, "reconciler.loop.events"):
        emit_events(client, report, revision="rev-1", instance="test-instance")
    (record,) = caplog.records
    assert "release no-such-namespace-4e1a/app: event not recorded" in record.getMessage()
