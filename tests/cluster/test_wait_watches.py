"""A pass without a long-running reconciler's reflectors (`harmonia apply`) waits for Ready
through watches of its own: its rounds read them instead of listing every scope again,
and the watches end with the pass."""

from __future__ import annotations

import threading
from pathlib import Path

from reconciler.outcome import Outcome
from tests import manifests
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster

MIN_READY_SECONDS = 8
"""The Deployment is Available only this long after its pod is Ready: the pass waits
through many rounds."""
WATCHED_FOR_A_DEPLOYMENT = ("Deployment", "Pod", "ReplicaSet", "Job")
LISTS_WITHOUT_ROUNDS = 20
"""The pass's first loads, the first check's pods, ReplicaSets and Jobs, each watch's
first list and a round or two before they synced (11 measured): listing the Deployments,
pods, ReplicaSets and Jobs every round of the wait instead sent 43."""


def test_a_pass_waiting_for_a_slow_rollout_watches_it_instead_of_listing_each_round(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    slow = manifests.workload("Deployment", "slow", replicas=1, minReadySeconds=MIN_READY_SECONDS)
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
    bench.release(namespace, "slow", chartPath=bench.chart("slow", [settings, slow]))
    with bench.client() as client:
        report = bench.run(client=client)
        sent = client.requests_by_verb()
    (release,) = report.releases.values()
    assert (release.outcome, release.ready) == (Outcome.APPLIED, True), release.message
    assert release.seconds is not None and release.seconds >= MIN_READY_SECONDS / 2
    # The Deployment, its pods, ReplicaSets and Jobs; not the ConfigMap, Ready at once.
    assert sent.get("watch", 0) == len(WATCHED_FOR_A_DEPLOYMENT), sent
    assert sent.get("list", 0) <= LISTS_WITHOUT_ROUNDS, sent
    left = [
        t.name for t in threading.enumerate() if t.name.startswith("watch ") and namespace in t.name
    ]
    assert left == []


def test_a_pass_that_changes_nothing_starts_no_watch(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    web = manifests.workload("Deployment", "web", replicas=1)
    bench.release(namespace, "web", chartPath=bench.chart("web", [web]))
    first = bench.run()
    assert not first.failed, {k: r.message for k, r in first.releases.items()}
    with bench.client() as client:
        report = bench.run(same_commit=True, client=client)
        sent = client.requests_by_verb()
    assert {r.outcome for r in report.releases.values()} == {Outcome.UNCHANGED}
    assert "watch" not in sent, sent
