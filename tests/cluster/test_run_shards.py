"""`harmonia run --shards` end to end: several replicas on loopback ports share the
releases of one repository through a Lease each, on the real dev cluster.

Each release is applied by the replica rendezvous hashing assigns it over the live
holders, and by it alone; a killed replica's releases move to the others once its Lease
expires, a stopped one's at once; a joining replica takes only its own share; a
dependency in another shard is read from its inventory record; two replicas committing
status files at the same time lose none.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import yaml

from reconciler.apply.inventory import INVENTORY_LABEL, record_from_configmap
from reconciler.loop.shard_assignment import assignment, moved, owner_of
from reconciler.types import ReleaseKey
from tests import manifests
from tests.cluster.test_external_dependencies import CHARTS, kafka_connect
from tests.cluster.test_run_loop import (
    HARMONIA,
    environment,
    eventually,
    free_port,
    http_get,
    remote_git,
    running_ready,
)
from tests.conftest import GitRepos, LiveCluster

LEASE_SECONDS = 6
INTERVAL_SECONDS = 2
RELEASES = 48


def configmap_releases(
    namespace: str, count: int = RELEASES, *, mark: str = "one"
) -> dict[str, str]:
    """`count` releases of one ConfigMap each (holding `mark`), each its own chart."""
    files = {"harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"}
    for index in range(count):
        name = f"r{index:02d}"
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
        files[f"charts/{name}/objects.yaml"] = yaml.safe_dump({**body, "data": {"mark": mark}})
        release = manifests.release(namespace, name, chartPath=f"charts/{name}")
        files[f"releases/{namespace}/{name}.yaml"] = yaml.safe_dump(release)
    return files


def keys_of(namespace: str, count: int = RELEASES) -> list[ReleaseKey]:
    return [ReleaseKey(f"{namespace}/r{index:02d}") for index in range(count)]


def applied_by(cluster: LiveCluster, namespace: str) -> dict[ReleaseKey, str]:
    """Each release's `appliedBy`, as its inventory record says."""
    found = cluster.kubectl(
        "-n", namespace, "get", "configmaps", "-l", f"{INVENTORY_LABEL}=true", "-o", "json"
    )
    records = [record_from_configmap(item) for item in json.loads(found.stdout)["items"]]
    return {record.release: record.applied_by for record in records}


def shard_args(
    namespace: str, identity: str, *extra: str, lease: int = LEASE_SECONDS
) -> tuple[str, ...]:
    return (
        "--shards",
        "--identity",
        identity,
        "--lease-namespace",
        namespace,
        "--lease-duration",
        f"{lease}s",
        "--interval",
        f"{INTERVAL_SECONDS}s",
        *extra,
    )


class Replicas:
    """Shard replicas of one repository, each on its own port, log and cache."""

    def __init__(
        self, cluster: LiveCluster, repos: GitRepos, folder: Path, namespace: str, lease: int
    ) -> None:
        self.cluster, self.repos, self.folder, self.namespace = cluster, repos, folder, namespace
        self.lease = lease
        self.stack = ExitStack()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def start(self, identity: str, *extra: str) -> None:
        port = free_port()
        self.ports[identity] = port
        self.processes[identity] = self.stack.enter_context(
            running_ready(
                self.cluster,
                self.repos,
                self.folder / f"cache-{identity}",
                self.log(identity),
                port,
                *shard_args(self.namespace, identity, *extra, lease=self.lease),
                what=f"{identity} ready",
            )
        )

    def log(self, identity: str) -> Path:
        return self.folder / f"{identity}.log"

    def said_since_set(self, identity: str, holders: set[str]) -> list[ReleaseKey]:
        """The releases `identity` reported after it last saw exactly `holders` live."""
        text = self.log(identity).read_text()
        marker = f"shard set harmonia-leader: {len(holders)} live ({', '.join(sorted(holders))})"
        _, found, after = text.rpartition(marker)
        if not found:
            return []
        pattern = re.compile(rf"release ({re.escape(self.namespace)}/r\d\d) [A-Z]")
        return [ReleaseKey(key) for key in pattern.findall(after)]

    def passes_since_set(self, identity: str, holders: set[str]) -> int:
        text = self.log(identity).read_text()
        marker = f"shard set harmonia-leader: {len(holders)} live ({', '.join(sorted(holders))})"
        _, found, after = text.rpartition(marker)
        return after.count("pass finished") if found else 0

    def settled(self, holders: set[str], keys: list[ReleaseKey]) -> bool:
        """Every live holder has passed twice over the set as `holders`, and each record
        names the owner the set assigns."""
        if not all(self.passes_since_set(h, holders) >= 2 for h in holders):
            return False
        return applied_by(self.cluster, self.namespace) == assignment(keys, holders)


@contextmanager
def replicas(
    cluster: LiveCluster,
    repos: GitRepos,
    folder: Path,
    namespace: str,
    *,
    lease: int = LEASE_SECONDS,
) -> Iterator[Replicas]:
    group = Replicas(cluster, repos, folder, namespace, lease)
    with group.stack:
        yield group


def seconds_until_applied_by(
    cluster: LiveCluster,
    namespace: str,
    keys: list[ReleaseKey],
    holders: set[str],
    *,
    timeout: float,
    since: float | None = None,
) -> float:
    """Seconds from `since` (now by default) until every release was last applied by the
    replica `holders` assign it: the gone replica's releases taken over by the others."""
    started = time.monotonic() if since is None else since
    eventually(
        lambda: applied_by(cluster, namespace) == assignment(keys, holders),
        timeout=timeout,
        what=f"every release applied by its replica among {sorted(holders)}",
    )
    return time.monotonic() - started


def lease_holders(cluster: LiveCluster, namespace: str) -> dict[str, str]:
    """The set's Leases by name, with the identity each names ("" once released)."""
    found = cluster.kubectl(
        "-n",
        namespace,
        "get",
        "leases",
        "-l",
        "harmonia.dev/shard-set=harmonia-leader",
        "-o",
        "json",
    )
    return {
        item["metadata"]["name"]: item["spec"].get("holderIdentity") or ""
        for item in json.loads(found.stdout)["items"]
    }


def test_three_shard_replicas_apply_each_release_once_and_a_killed_ones_move_to_the_others(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(configmap_releases(namespace), "48 releases")
    keys = keys_of(namespace)
    three = {"shard-a", "shard-b", "shard-c"}
    with replicas(cluster, git_repos, tmp_path, namespace) as group:
        for identity in sorted(three):
            group.start(identity, "--no-status")
        eventually(lambda: group.settled(three, keys), timeout=180, what="three shards settled")
        owners = assignment(keys, three)
        for identity in three:
            said = group.said_since_set(identity, three)
            assert said, identity
            assert {key for key in said if owners[key] != identity} == set(), identity
        code, body = http_get(group.ports["shard-a"], "/api/v1/reconciler")
        assert code == 200, body
        shards = json.loads(body)["shards"]
        assert shards["holders"] == sorted(three)
        share = sum(1 for owner in owners.values() if owner == "shard-a")
        assert shards["share"] == {"releases": share, "of": RELEASES}
        code, listed = http_get(group.ports["shard-b"], f"/api/v1/releases?namespace={namespace}")
        assert code == 200, listed
        assert {
            f"{namespace}/{item['name']}": item["appliedBy"]
            for item in json.loads(listed)["releases"]
        } == owners

        shown = subprocess.run(
            [*HARMONIA, "status", "-n", namespace, "-o", "json"],
            capture_output=True,
            text=True,
            env=environment(cluster, tmp_path / "status-cache"),
            timeout=120,
            check=False,
        )
        assert {
            f"{namespace}/{item['name']}": item["appliedBy"] for item in json.loads(shown.stdout)
        } == owners
        table = subprocess.run(
            [*HARMONIA, "status", "-n", namespace],
            capture_output=True,
            text=True,
            env=environment(cluster, tmp_path / "status-cache"),
            timeout=120,
            check=False,
        )
        assert "APPLIED BY" in table.stdout and "shard-a" in table.stdout

        group.processes["shard-c"].send_signal(signal.SIGKILL)
        group.processes["shard-c"].wait(timeout=30)
        took = seconds_until_applied_by(
            cluster, namespace, keys, three - {"shard-c"}, timeout=LEASE_SECONDS * 6
        )
    # The Lease's duration, one pass interval, and the pass itself on a busy machine.
    assert took <= LEASE_SECONDS + INTERVAL_SECONDS + 10, took
    assert any(owner == "shard-c" for owner in owners.values())


def test_a_joining_replica_takes_only_its_share_and_a_stopped_one_hands_over_at_once(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(configmap_releases(namespace), "48 releases")
    keys = keys_of(namespace)
    three = {"shard-a", "shard-b", "shard-c"}
    four = three | {"shard-d"}
    # A long Lease: a stopped replica's releases must move long before it would expire.
    lease = 30
    with replicas(cluster, git_repos, tmp_path, namespace, lease=lease) as group:
        for identity in sorted(three):
            group.start(identity, "--no-status")
        eventually(lambda: group.settled(three, keys), timeout=180, what="three shards settled")
        before = applied_by(cluster, namespace)

        group.start("shard-d", "--no-status")
        eventually(lambda: group.settled(four, keys), timeout=120, what="four shards settled")
        after = applied_by(cluster, namespace)
        changed = moved(before, after)
        # Only the newcomer's share moved, and its new owner applied each of them.
        assert changed == {key for key in keys if owner_of(key, four) == "shard-d"}
        assert all(after[key] == "shard-d" for key in changed)
        assert changed and len(changed) / len(keys) <= 1 / 2, len(changed)

        lease_name = next(
            name
            for name, holder in lease_holders(cluster, namespace).items()
            if holder == "shard-b"
        )
        group.processes["shard-b"].send_signal(signal.SIGTERM)
        assert group.processes["shard-b"].wait(timeout=60) == 0
        stopped = time.monotonic()
        assert lease_holders(cluster, namespace)[lease_name] == ""
        took = seconds_until_applied_by(
            cluster, namespace, keys, four - {"shard-b"}, timeout=lease * 2, since=stopped
        )
    # Released, not expired: within a pass interval and the pass, not the Lease's duration.
    assert took < lease, took


def identities_splitting(first: ReleaseKey, second: ReleaseKey) -> set[str]:
    """Two identities that put `first` and `second` in different shards."""
    for index in range(100):
        pair = {f"shard-{index}a", f"shard-{index}b"}
        if owner_of(first, pair) != owner_of(second, pair):
            return pair
    raise AssertionError("no pair of identities splits them")


def test_a_dependency_in_another_shard_is_rendered_with_the_outputs_its_owner_recorded(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    for chart in ("zookeeper", "kafka"):
        shutil.copytree(CHARTS / chart, git_repos.work / "charts" / chart)
    zookeeper = manifests.release(
        namespace, "zookeeper", chartPath="charts/zookeeper", configValues={"replicas": 2}
    )
    kafka = manifests.kafka_on_zookeeper(namespace)
    files = {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/zookeeper.yaml": yaml.safe_dump(zookeeper),
        f"releases/{namespace}/kafka.yaml": yaml.safe_dump(kafka),
    }
    zookeeper_only = {key: text for key, text in files.items() if "kafka.yaml" not in key}
    git_repos.commit_and_push(zookeeper_only, "zookeeper")
    keys = [ReleaseKey(f"{namespace}/zookeeper"), ReleaseKey(f"{namespace}/kafka")]
    pair = identities_splitting(*keys)
    zookeeper_owner, kafka_owner = owner_of(keys[0], pair), owner_of(keys[1], pair)
    with replicas(cluster, git_repos, tmp_path, namespace) as group:
        group.start(str(zookeeper_owner), "--no-status")
        group.start(str(kafka_owner), "--no-status")
        git_repos.commit_and_push(files, "kafka on zookeeper")
        eventually(
            lambda: applied_by(cluster, namespace) == assignment(keys, pair),
            timeout=240,
            what="both applied, each by its owner",
        )
        connect = kafka_connect(cluster, namespace)
    assert connect.count(f"zookeeper-hl.{namespace}.svc.cluster.local:2181") == 2
    # Kafka's owner never rendered nor applied ZooKeeper: it read its inventory record.
    assert f"release {namespace}/zookeeper " not in group.log(str(kafka_owner)).read_text()


def status_files(repos: GitRepos) -> set[str]:
    listed = remote_git(repos, "ls-tree", "-r", "--name-only", "harmonia-status")
    return set(listed.splitlines())


def test_two_shard_replicas_committing_status_at_once_lose_no_file(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    count = 16
    git_repos.commit_and_push(configmap_releases(namespace, count), "16 releases")
    keys = keys_of(namespace, count)
    two = {"shard-a", "shard-b"}
    wanted = {f"status/{key}.yaml" for key in keys} | {"status/README.md"}
    with replicas(cluster, git_repos, tmp_path, namespace) as group:
        for identity in sorted(two):
            group.start(identity)
        eventually(lambda: wanted <= status_files(git_repos), timeout=180, what="all status")
        commit = git_repos.commit_and_push(
            configmap_releases(namespace, count, mark="two"), "every release changed"
        )

        def all_at_new_commit() -> bool:
            for key in keys:
                text = remote_git(git_repos, "show", f"harmonia-status:status/{key}.yaml")
                if yaml.safe_load(text).get("revision") != commit:
                    return False
            return True

        eventually(all_at_new_commit, timeout=180, what="every status file at the new commit")
    assert wanted <= status_files(git_repos)
    readme = remote_git(git_repos, "show", "harmonia-status:status/README.md")
    assert all(f"| {key} |" in readme for key in keys)
    for identity in two:
        assert "status committed" in group.log(identity).read_text(), identity


def test_only_the_owner_puts_back_a_hand_edit_and_answers_a_sync_request(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    count = 8
    git_repos.commit_and_push(configmap_releases(namespace, count), "8 releases")
    keys = keys_of(namespace, count)
    two = {"shard-a", "shard-b"}
    owners = assignment(keys, two)
    edited = next(key for key in keys if owners[key] == "shard-a")
    name = edited.split("/")[1]
    with replicas(cluster, git_repos, tmp_path, namespace) as group:
        for identity in sorted(two):
            group.start(identity, "--no-status")
        eventually(lambda: group.settled(two, keys), timeout=120, what="two shards settled")

        def mark() -> str:
            found = cluster.kubectl("-n", namespace, "get", "configmap", name, "-o", "json")
            return str(json.loads(found.stdout)["data"]["mark"])

        patch = json.dumps({"data": {"mark": "by hand"}})
        cluster.kubectl("-n", namespace, "patch", "configmap", name, "--type=merge", "-p", patch)
        eventually(lambda: mark() == "one", timeout=60, what="the hand edit put back")
        synced = subprocess.run(
            [*HARMONIA, "sync", str(edited), "--wait", "--timeout", "60s"],
            capture_output=True,
            text=True,
            env=environment(cluster, tmp_path / "sync-cache"),
            timeout=120,
            check=False,
        )
        assert synced.returncode == 0, synced.stdout + synced.stderr
    owner_log = group.log("shard-a").read_text()
    other_log = group.log("shard-b").read_text()
    assert f"for {edited} (" in owner_log
    assert f"for {edited} (" not in other_log
    assert f"sync of {edited} requested" in owner_log
    assert f"sync of {edited} requested" not in other_log


def test_a_replica_whose_lease_is_taken_stops_applying_and_exits_1(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(configmap_releases(namespace, 2), "2 releases")
    with replicas(cluster, git_repos, tmp_path, namespace) as group:
        group.start("shard-a", "--no-status")
        (lease_name,) = lease_holders(cluster, namespace)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        taken = {"spec": {"holderIdentity": "intruder", "renewTime": now, "acquireTime": now}}
        cluster.kubectl(
            "-n", namespace, "patch", "lease", lease_name, "--type=merge", "-p", json.dumps(taken)
        )
        assert group.processes["shard-a"].wait(timeout=LEASE_SECONDS * 4) == 1
    assert "shard lease lost: stopping" in group.log("shard-a").read_text()
