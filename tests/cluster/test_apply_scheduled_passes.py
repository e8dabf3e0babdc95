"""What `harmonia run` asks of a pass with nothing new in Git, on the real cluster:
hand edits are put back (selfHeal) unless a release switches that off, releases in
a failure backoff are left alone with their dependents, and a stopping reconciler
defers what it has not begun."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.apply.records import read_inventory
from reconciler.reconcile import Outcome, ReleaseReport
from reconciler.types import JsonObject, ReleaseKey
from tests.cluster.workbench import Workbench
from tests.conftest import LiveCluster


def settings(mode: str = "fast", name: str = "settings") -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"mode": mode},
    }


def edit_by_hand(cluster: LiveCluster, namespace: str) -> None:
    patch = json.dumps({"data": {"mode": "slow"}})
    cluster.kubectl("-n", namespace, "patch", "configmap", "settings", "--type=merge", "-p", patch)


def live_mode(cluster: LiveCluster, namespace: str) -> str:
    found = cluster.kubectl("-n", namespace, "get", "configmap", "settings", "-o", "json")
    return str(json.loads(found.stdout)["data"]["mode"])


def test_a_pass_without_a_new_commit_puts_a_hand_edit_back(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(namespace, "app", chartPath=bench.chart("app", [settings()]))
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    edit_by_hand(cluster, namespace)

    healed = bench.run(same_commit=True).releases[key]

    assert healed.outcome is Outcome.APPLIED
    assert "drift corrected: ConfigMap/" in healed.message
    assert live_mode(cluster, namespace) == "fast"


def left_until_the_release_changes(
    bench: Workbench, cluster: LiveCluster, namespace: str, key: ReleaseKey, left: ReleaseReport
) -> None:
    """The hand edit `left` reports stays, and a commit changing the release puts it back."""
    assert left.outcome is Outcome.PLANNED
    assert "selfHeal is off: drift left in place (1 configured" in left.message
    assert live_mode(cluster, namespace) == "slow"

    bench.chart("app", [settings(), settings(name="extra")])
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    assert live_mode(cluster, namespace) == "fast"


def test_self_heal_off_leaves_a_hand_edit_until_the_next_commit(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart("app", [settings()])
    key = bench.release(namespace, "app", chartPath=chart, selfHeal=False)
    assert bench.run().releases[key].outcome is Outcome.APPLIED
    edit_by_hand(cluster, namespace)

    left = bench.run(same_commit=True).releases[key]
    left_until_the_release_changes(bench, cluster, namespace, key, left)


def test_self_heal_off_leaves_a_hand_edit_at_a_commit_that_leaves_the_release_as_it_was(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(
        namespace, "app", chartPath=bench.chart("app", [settings()]), selfHeal=False
    )
    other = bench.release(
        namespace, "other", chartPath=bench.chart("other", [settings(name="other")])
    )
    assert bench.run().releases[key].outcome is Outcome.APPLIED

    bench.chart("other", [settings("slow", name="other")])
    unrelated = bench.run()
    assert unrelated.releases[other].outcome is Outcome.APPLIED
    assert unrelated.releases[key].outcome is Outcome.UNCHANGED
    edit_by_hand(cluster, namespace)

    left = bench.run().releases[key]
    left_until_the_release_changes(bench, cluster, namespace, key, left)


def test_self_heal_off_still_records_a_commit_that_changes_only_the_release_settings(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    chart = bench.chart("app", [settings()])
    key = bench.release(namespace, "app", chartPath=chart, selfHeal=False)
    bench.run()

    bench.release(namespace, "app", chartPath=chart, selfHeal=False, timeoutSec=120)
    bench.run()

    with bench.client() as client:
        record = read_inventory(client, key)
    assert record is not None
    assert (record.timeout_sec, record.revision) == (120, "rev-2")


def test_self_heal_off_still_reports_unchanged_when_nothing_drifted(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    key = bench.release(
        namespace, "app", chartPath=bench.chart("app", [settings()]), selfHeal=False
    )
    bench.run()

    assert bench.run(same_commit=True).releases[key].outcome is Outcome.UNCHANGED


def test_a_release_in_backoff_is_left_alone_and_its_dependents_wait(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    base = bench.release(namespace, "base", chartPath=bench.chart("base", [settings()]))
    top = bench.release(
        namespace,
        "top",
        chartPath=bench.chart("top", [settings(name="top")]),
        dependencies={"base": "base"},
    )

    report = bench.run(deferred={base: "failed 2 times in a row; next attempt later"})

    assert report.releases[base].outcome is Outcome.DEFERRED
    assert report.releases[base].message == "failed 2 times in a row; next attempt later"
    assert report.releases[top].outcome is Outcome.BLOCKED
    assert f"dependency {base} is Deferred" in report.releases[top].message
    missing = cluster.kubectl("-n", namespace, "get", "configmap", "settings", check=False)
    assert missing.returncode != 0


def test_a_stopping_reconciler_defers_what_it_has_not_begun_and_removes_nothing(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    bench = Workbench(cluster, tmp_path / "repo", tmp_path / "cache")
    keys = [
        bench.release(namespace, name, chartPath=bench.chart(name, [settings(name=name)]))
        for name in ("one", "two")
    ]
    bench.run()
    bench.remove_release(namespace, "two")

    report = bench.run(stopping=lambda: True)

    assert report.releases[keys[0]].outcome is Outcome.DEFERRED
    assert ReleaseKey(keys[1]) not in report.releases
    assert report.notes == ("stopped before removals",)
    kept = cluster.kubectl("-n", namespace, "get", "configmap", "two", check=False)
    assert kept.returncode == 0
