"""A Job that its `ttlSecondsAfterFinished` removes once it has finished (ingress-nginx's
admission Jobs): done, not missing. Not created again, no diff, Ready; a new spec runs it
again. KWOK completes the Job's pod and kube-controller-manager's TTL controller removes it."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.apply.records import read_inventory
from reconciler.diff.changeset import Action
from reconciler.reconcile import Outcome
from reconciler.status.live import read_statuses
from reconciler.types import JsonObject
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster
from tests.waiting import wait_for


def job(*, ttl: int, args: list[str], backoff_limit: int = 0) -> JsonObject:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "create-secret"},
        "spec": {
            "ttlSecondsAfterFinished": ttl,
            "backoffLimit": backoff_limit,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "create", "image": "certgen:1", "args": args}],
                }
            },
        },
    }


def settings() -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {}}


def jobs_in(cluster: LiveCluster, namespace: str) -> list[str]:
    listed = json.loads(cluster.kubectl("-n", namespace, "get", "jobs", "-o", "json").stdout)
    return [item["metadata"]["name"] for item in listed["items"]]


def test_a_job_its_ttl_removed_after_completing_is_ready_and_not_created_again(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart("admission", [settings(), job(ttl=0, args=["create"])])
    key = bench.release(namespace, "admission", chartPath=chart, timeoutSec=60)

    first = bench.run().releases[key]
    assert (first.outcome, first.ready) == (Outcome.APPLIED, True), first.message
    wait_for(lambda: jobs_in(cluster, namespace), until=lambda jobs: not jobs, what="the TTL")

    diff = bench.run(dry_run=True).releases[key]
    assert diff.changes is not None and not diff.changes.has_changes, diff.changes.to_json()
    again = bench.run(same_commit=True).releases[key]
    assert (again.outcome, again.ready) == (Outcome.UNCHANGED, True), again.message
    assert jobs_in(cluster, namespace) == []
    with bench.client() as client:
        statuses, problems = read_statuses(client, release=key)
    assert not problems
    assert str(statuses[0].health.state) == "Ready", statuses[0].health.message
    job_state = next(r for r in statuses[0].health.resources if r.kind == "Job")
    assert job_state.message == "completed; removed by its ttlSecondsAfterFinished"

    bench.chart("admission", [settings(), job(ttl=0, args=["create", "--again"])])
    changed = bench.run().releases[key]
    assert changed.changes is not None
    actions = {change.ref.kind: change.action for change in changed.changes.changes}
    assert actions["Job"] is Action.CREATED, changed.changes.to_json()
    assert (changed.outcome, changed.ready) == (Outcome.APPLIED, True), changed.message


def test_a_pass_that_did_not_wait_learns_from_the_events_that_the_removed_job_completed(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart("admission", [job(ttl=0, args=["create"])])
    key = bench.release(namespace, "admission", chartPath=chart)
    assert bench.run(wait=False).releases[key].outcome is Outcome.APPLIED
    wait_for(lambda: jobs_in(cluster, namespace), until=lambda jobs: not jobs, what="the TTL")

    again = bench.run(same_commit=True, wait=False).releases[key]
    assert again.changes is not None and not again.changes.has_changes, again.changes.to_json()
    assert jobs_in(cluster, namespace) == []
    with bench.client() as client:
        record = read_inventory(client, key)
    assert record is not None and [entry.completed for entry in record.entries] == [True]
