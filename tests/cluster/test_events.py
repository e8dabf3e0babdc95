"""Events against the real cluster: an applied release's event lands on its inventory
ConfigMap (found by kubectl as `describe` finds it), and one the API server refuses is
logged, never raised."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.loop.events import emit_events
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.types import ReleaseKey
from tests.cluster.test_run_loop import run_once
from tests.cluster.workbench import Workbench
from tests.conftest import GitRepos, LiveCluster


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


def test_every_outcome_of_a_pass_is_logged_once_and_evented_on_its_inventory(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    def release(name: str, **fields: object) -> dict[str, str]:
        body = {"apiVersion": "harmonia.dev/v1alpha1", "kind": "Release", "name": name}
        body |= {"namespace": namespace, "chartPath": "charts/plain", **fields}
        return {f"releases/{body['namespace']}/{name}.yaml": yaml.safe_dump(body)}

    def config_map(name: str) -> str:
        return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})

    refused = f"{namespace[:50]}-refused"
    files = {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        "charts/plain/objects.yaml": config_map("plain"),
        "charts/shared/objects.yaml": config_map("shared"),
        "charts/broken/objects.yaml": "data: [not closed\n",
        **release("good"),
        **release("gone", chartPath="charts/shared"),
        **release("taker", chartPath="charts/shared"),
        **release("broken", chartPath="charts/broken"),
        **release("dependent", dependencies={"broken": "broken"}),
        **release("refused", namespace=refused),
    }
    git_repos.commit_and_push(files, "every outcome")
    first = run_once(cluster, git_repos, tmp_path / "cache", "--allowed-namespace", namespace)

    assert first.returncode == 1, first.stderr
    expected = {
        f"release {namespace}/good Applied": "Applied",
        f"release {namespace}/gone Applied": "Applied",
        f"release {namespace}/taker Failed": "Failed",
        f"release {namespace}/broken Failed": "Failed",
        f"release {namespace}/dependent Blocked": "Blocked",
        f"release {refused}/refused Invalid": "",
    }
    for line, reason in expected.items():
        assert first.stderr.count(line) == 1, (line, first.stderr)
        name = line.split("/")[1].split()[0]
        if reason:
            (event,) = events_on(cluster, namespace, f"harmonia-inventory-{name}")
            assert event["reason"] == reason, event
    assert f"ConfigMap/{namespace}/shared belongs to release {namespace}/gone" in first.stderr
    assert "event not recorded" not in first.stderr  # none sent where the policy refuses

    git_repos.git("rm", "--quiet", f"releases/{namespace}/gone.yaml")
    git_repos.commit_and_push({}, "gone leaves Git")
    second = run_once(cluster, git_repos, tmp_path / "cache", "--allowed-namespace", namespace)
    assert f"release {namespace}/gone Removed" in second.stderr, second.stderr
    removed = events_on(cluster, namespace, "harmonia-inventory-gone")
    assert sorted(event["reason"] for event in removed) == ["Applied", "Removed"]


def test_a_hand_edit_put_back_by_a_pass_gets_a_drift_corrected_event(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    key = bench.release(
        namespace, "app", chartPath=bench.chart("app", [config_map | {"data": {"k": "v"}}])
    )
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    cluster.kubectl("-n", namespace, "patch", "configmap", "a", "-p", '{"data":{"k":"edited"}}')

    report = bench.run(same_commit=True).releases[key]
    with bench.client() as client:
        emit_events(client, report, revision="rev-1", instance="test-instance")

    assert report.drift == (f"ConfigMap/{namespace}/a",)
    reasons = {
        event["reason"]: event for event in events_on(cluster, namespace, "harmonia-inventory-app")
    }
    assert reasons["DriftCorrected"]["message"] == (
        f"revision rev-1: drift corrected on ConfigMap/{namespace}/a"
    )
