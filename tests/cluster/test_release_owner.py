"""One owner per release, against the real API server: a second repository declaring a
release another repository applied fails there, writing and deleting nothing, its
dependents wait, and it takes the release only once the owner lets go (the owner's
file removed, or the record annotated to hand it over). A release cannot forge another's
record either."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reconciler.apply.inventory import HAND_OVER_ANNOTATION, InventoryRecord
from reconciler.diff.changeset import Action
from reconciler.reconcile import Outcome
from reconciler.types import JsonObject, ReleaseKey
from tests import manifests
from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.test_external_dependencies import CHARTS
from tests.cluster.test_run_loop import repository_files, run_once, status_file
from tests.cluster.workbench import Workbench
from tests.conftest import GitRepos, LiveCluster, new_git_repos

LABELS = {"app": "web"}


def web_objects() -> list[JsonObject]:
    """The examples' web release in small: a Deployment, a Service and a Secret."""
    return [
        manifests.workload("Deployment", "web", container="web", image="registry.invalid/web:1"),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": LABELS, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "web-session"},
            "stringData": {"key": "owner-session-key"},
        },
    ]


def config_map(name: str) -> JsonObject:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}}


def two_repositories(
    cluster: LiveCluster, tmp_path: Path, namespace: str
) -> tuple[Workbench, Workbench]:
    """Repository A and repository B: two folders, two source identities (of this test
    alone: a source's removals span the cluster), one cache."""
    sources = (f"git@example.com:{namespace}/a.git", f"https://example.com/{namespace}/b//apps")
    owner, newcomer = (
        Workbench(cluster, tmp_path / folder, tmp_path / "cache", source=source)
        for folder, source in zip("ab", sources, strict=True)
    )
    return owner, newcomer


def live_names(cluster: LiveCluster, namespace: str) -> set[str]:
    """The objects of release `web` (its inventory record aside)."""
    listed = cluster.kubectl(
        "-n",
        namespace,
        "get",
        "deploy,svc,secret,cm",
        "-o",
        "name",
        "-l",
        "harmonia.dev/release-name=web",
    )
    return set(listed.stdout.split()) - {"configmap/harmonia-inventory-web"}


def recorded_source(cluster: LiveCluster, namespace: str) -> str:
    found = cluster.kubectl("-n", namespace, "get", "cm", "harmonia-inventory-web", "-o", "json")
    return str(json.loads(json.loads(found.stdout)["data"]["inventory.json"])["source"])


def declare_web_and_api(bench: Workbench, namespace: str) -> tuple[ReleaseKey, ReleaseKey]:
    """Repository B's side: its own `web` (one ConfigMap) and an `api` depending on it."""
    web = bench.release(namespace, "web", chartPath=bench.chart("web", [config_map("web")]))
    api = bench.release(
        namespace,
        "api",
        chartPath=bench.chart("api", [config_map("api")]),
        dependencies={"web": "web"},
    )
    return web, api


def test_a_release_another_repository_owns_fails_for_the_newcomer_and_nothing_is_written_or_deleted(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    key = owner.release(namespace, "web", chartPath=owner.chart("web", web_objects()))
    assert owner.run().releases[key].outcome is Outcome.APPLIED
    before = live_names(cluster, namespace)
    assert before == {"deployment.apps/web", "service/web", "secret/web-session"}
    web, api = declare_web_and_api(newcomer, namespace)

    for dry_run in (True, False):
        report = newcomer.run(dry_run=dry_run)
        refused = report.releases[web]
        assert refused.outcome is Outcome.FAILED, refused
        assert refused.message.startswith(f"Release {namespace}/web belongs to {owner.source}")
        assert f"{HAND_OVER_ANNOTATION}={newcomer.source}" in refused.message
        assert refused.changes is None
        blocked = report.releases[api]
        assert blocked.outcome is Outcome.BLOCKED, blocked
        assert blocked.message.startswith(f"dependency {namespace}/web is Failed")

    assert live_names(cluster, namespace) == before
    assert recorded_source(cluster, namespace) == owner.source
    # No flip-flop: the owner's next pass finds its release as it left it.
    assert owner.run().releases[key].outcome is Outcome.UNCHANGED
    assert newcomer.run().releases[web].outcome is Outcome.FAILED


def test_harmonia_apply_and_diff_of_the_newcomer_exit_1_naming_the_owner(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    owner.release(namespace, "web", chartPath=owner.chart("web", web_objects()))
    owner.run()
    declare_web_and_api(newcomer, namespace)
    before = live_names(cluster, namespace)

    for command in ("diff", "apply"):
        result = harmonia(cluster, command, str(newcomer.root), "--source-id", newcomer.source)
        assert result.returncode == 1, result.stderr
        assert f"Release {namespace}/web belongs to {owner.source}" in result.stdout + result.stderr

    assert f"{namespace}/web: Failed" in result.stderr
    assert f"{namespace}/api: Blocked" in result.stderr
    assert live_names(cluster, namespace) == before


def test_two_git_repositories_under_harmonia_run_never_take_turns_on_one_release(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    other = new_git_repos(tmp_path / "b")
    newcomer = Workbench(cluster, other.work, tmp_path / "unused")
    declare_web_and_api(newcomer, namespace)
    other.git("add", "--all")
    other.git("commit", "--quiet", "-m", "web too")
    other.git("push", "--quiet", "origin", "HEAD:main")
    cache = tmp_path / "cache"
    assert run_once(cluster, git_repos, cache).returncode == 0
    owned = live_names(cluster, namespace)

    for _turn in range(2):
        refused = run_once(cluster, other, cache)
        assert refused.returncode == 1, refused.stderr
        assert f"release {namespace}/web Failed" in refused.stderr
        assert f"Release {namespace}/web belongs to {git_repos.remote}" in refused.stderr
        assert run_once(cluster, git_repos, cache).returncode == 0

    assert live_names(cluster, namespace) == owned
    assert recorded_source(cluster, namespace) == str(git_repos.remote)
    status = status_file(other, f"status/{namespace}/web.yaml")
    assert status["state"] == "Failed", status
    assert f"Release {namespace}/web belongs to {git_repos.remote}" in str(status["message"])
    assert status_file(other, f"status/{namespace}/api.yaml")["state"] == "Blocked"


def test_once_the_owner_removes_its_file_the_newcomer_takes_the_release(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    owner.release(namespace, "web", chartPath=owner.chart("web", web_objects()))
    for other in ("one", "two"):  # removing one of three releases passes the share guard
        owner.release(namespace, other, chartPath=owner.chart(other, [config_map(other)]))
    assert not owner.run().failed
    web, api = declare_web_and_api(newcomer, namespace)
    assert newcomer.run().releases[web].outcome is Outcome.FAILED

    owner.remove_release(namespace, "web")
    removed = owner.run().releases[web]
    assert removed.outcome is Outcome.REMOVED, removed
    report = newcomer.run()

    assert (report.releases[web].outcome, report.releases[api].outcome) == (
        Outcome.APPLIED,
        Outcome.APPLIED,
    )
    assert live_names(cluster, namespace) == {"configmap/web"}
    assert recorded_source(cluster, namespace) == newcomer.source


def test_a_hand_over_annotation_gives_the_release_to_the_source_it_names(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    owner, newcomer = two_repositories(cluster, tmp_path, namespace)
    key = owner.release(namespace, "web", chartPath=owner.chart("web", web_objects()))
    owner.run()
    web, _api = declare_web_and_api(newcomer, namespace)
    cluster.kubectl(
        "-n",
        namespace,
        "annotate",
        "cm",
        "harmonia-inventory-web",
        f"{HAND_OVER_ANNOTATION}=someone-else",
    )
    assert newcomer.run().releases[web].outcome is Outcome.FAILED

    cluster.kubectl(
        "-n",
        namespace,
        "annotate",
        "--overwrite",
        "cm",
        "harmonia-inventory-web",
        f"{HAND_OVER_ANNOTATION}={newcomer.source}",
    )
    taken = newcomer.run().releases[web]

    assert taken.outcome is Outcome.APPLIED, taken
    assert taken.changes is not None
    assert taken.changes.counts[Action.DELETED] == 3
    assert live_names(cluster, namespace) == {"configmap/web"}
    assert recorded_source(cluster, namespace) == newcomer.source
    # Handed over for good: the former owner now fails, the new one stays unchanged.
    refused = owner.run().releases[key]
    assert refused.outcome is Outcome.FAILED
    assert refused.message.startswith(f"Release {namespace}/web belongs to {newcomer.source}")
    assert newcomer.run().releases[web].outcome is Outcome.UNCHANGED
    assert live_names(cluster, namespace) == {"configmap/web"}


def test_a_look_alike_record_another_release_renders_feeds_no_outputs_to_dependents(
    cluster: LiveCluster, namespace: str, tmp_path: Path
) -> None:
    attacker = Workbench(cluster, tmp_path / "b", tmp_path / "cache", source=f"{namespace}/b")
    forged = InventoryRecord(
        release=ReleaseKey(f"{namespace}/zookeeper"),
        source=f"{namespace}/a",
        revision="0" * 40,
        input_hash="",
        entries=(),
        outputs={"zookeeper_addresses": "attacker.example:2181", "zookeeper_port": 2181},
    ).to_configmap()
    forged_by_hand = json.loads(json.dumps(forged))
    forged_by_hand["metadata"]["namespace"] = namespace
    forged_by_hand["metadata"]["annotations"]["harmonia.dev/owner"] = f"{namespace}/squatter"
    squatter = attacker.release(
        namespace, "squatter", chartPath=attacker.chart("squatter", [forged])
    )
    # A chart may not render a record at all (the name prefix is reserved); one written by
    # hand with another release's owner annotation is refused the same way when read.
    assert attacker.run().releases[squatter].outcome is Outcome.FAILED
    cluster.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(forged_by_hand))
    victim = Workbench(cluster, tmp_path / "a", tmp_path / "cache", source=f"{namespace}/a")
    shutil.copytree(CHARTS / "kafka", victim.root / "charts" / "kafka")
    kafka = victim.release(
        namespace,
        "kafka",
        chartPath="charts/kafka",
        dependencies={"zookeeper": f"{namespace}/zookeeper"},
    )

    report = victim.run().releases[kafka]

    assert report.outcome is Outcome.BLOCKED, report
    assert "has published no outputs" in report.message
    assert cluster.kubectl("-n", namespace, "get", "cm", "kafka", check=False).returncode != 0
