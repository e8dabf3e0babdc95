"""`harmonia run` between its ticks, with the interval far away (10m): a hand edit is put
back from the watch, `harmonia sync --wait` gets its pass and its answer, and a standby
acts on nothing it sees until it holds the Lease of a leader killed."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import manifests
from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.test_external_dependencies import CHARTS, bench_with_chart, kafka_connect
from tests.cluster.test_run_loop import (
    eventually,
    identity_in,
    lease_holder,
    repository_files,
    running_with,
)
from tests.conftest import GitRepos, LiveCluster

FAR = ("--interval", "10m", "--jitter", "0", "--no-leader-elect", "--no-status", "--listen", "off")


def mode(cluster: LiveCluster, namespace: str) -> str:
    found = cluster.kubectl(
        "-n", namespace, "get", "cm", "settings", "-o", "jsonpath={.data.mode}", check=False
    )
    return found.stdout


@contextmanager
def reacting(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> Iterator[Path]:
    """`harmonia run` on a repository of one release, its first pass done; its log."""
    git_repos.commit_and_push(repository_files(namespace), "web")
    log = tmp_path / "run.log"
    args = ("--repo", str(git_repos.remote), "--ref", "main", *FAR)
    with running_with(cluster, tmp_path / "cache", log, *args):
        eventually(lambda: "pass finished" in log.read_text(), what="first pass", timeout=120)
        yield log


def test_a_hand_edit_is_put_back_from_the_watch_without_waiting_for_the_interval(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    with reacting(cluster, namespace, git_repos, tmp_path) as log:
        assert mode(cluster, namespace) == "fast"

        cluster.kubectl("-n", namespace, "patch", "cm", "settings", "-p", '{"data":{"mode":"x"}}')

        eventually(lambda: mode(cluster, namespace) == "fast", what="the edit put back", timeout=30)
        text = log.read_text()
    assert re.search(
        rf"pass started at revision \w+ for {namespace}/web "
        rf"\(ConfigMap/{namespace}/settings changed\)",
        text,
    ), text
    assert f"drift corrected: ConfigMap/{namespace}/settings" in text


def test_sync_wait_gets_a_pass_of_that_release_and_its_answer(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    with reacting(cluster, namespace, git_repos, tmp_path) as log:
        synced = harmonia(cluster, "sync", f"{namespace}/web", "--wait", "--timeout", "60s")

        text = log.read_text()
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout == f"{namespace}/web: Applied\n"
    assert re.search(
        rf"pass started at revision \w+ for {namespace}/web "
        rf"\(sync of {namespace}/web requested at ",
        text,
    ), text


def edit(cluster: LiveCluster, namespace: str, value: str) -> None:
    patch = json.dumps({"data": {"mode": value}})
    cluster.kubectl("-n", namespace, "patch", "cm", "settings", "-p", patch)


def watching(log: Path) -> int:
    """How many scopes the replica said it watches, last."""
    said = re.findall(r"watching (\d+) scopes", log.read_text())
    return int(said[-1]) if said else 0


def test_only_the_leader_acts_on_a_hand_edit_and_a_standby_acts_within_the_lease_once_it_is_killed(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(repository_files(namespace), "web")
    duration = 15  # client-go's default, and Harmonia's
    elect = ("--lease-namespace", namespace, "--lease-duration", f"{duration}s")
    electing = tuple(arg for arg in FAR if arg != "--no-leader-elect")
    args = ("--repo", str(git_repos.remote), "--ref", "main", *electing, *elect)
    logs = (tmp_path / "first.log", tmp_path / "second.log")
    with (
        running_with(cluster, tmp_path / "cache-1", logs[0], *args) as first,
        running_with(cluster, tmp_path / "cache-2", logs[1], *args) as second,
    ):
        eventually(lambda: all(identity_in(log) for log in logs), what="ids", timeout=60)
        eventually(
            lambda: any("pass finished" in log.read_text() for log in logs),
            what="the leader's first pass",
            timeout=120,
        )
        leads_first = lease_holder(cluster, namespace) == identity_in(logs[0])
        leader, standby_log = (first, logs[1]) if leads_first else (second, logs[0])
        leader_log = logs[0] if leads_first else logs[1]

        # The standby's watches are warm: it follows the scopes the leader's records name.
        eventually(lambda: watching(leader_log) > 1, what="the leader's watches", timeout=30)
        eventually(
            lambda: watching(standby_log) == watching(leader_log),
            what=f"the standby watching as the leader does ({watching(leader_log)} scopes)",
            timeout=30,
        )

        edit(cluster, namespace, "leader-puts-back")
        eventually(lambda: mode(cluster, namespace) == "fast", what="edit put back", timeout=30)
        time.sleep(2)  # the standby saw the edit and the correction too
        assert "pass started" not in standby_log.read_text()
        assert f"(ConfigMap/{namespace}/settings changed)" in leader_log.read_text()

        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        killed = time.monotonic()
        edit(cluster, namespace, "made-after-the-kill")
        eventually(
            lambda: mode(cluster, namespace) == "fast",
            what="the edit put back by the standby",
            timeout=duration * 3,
        )
        takeover = time.monotonic() - killed

        eventually(lambda: "pass finished" in standby_log.read_text(), what="pass", timeout=30)
        edit(cluster, namespace, "after-the-takeover")
        edited = time.monotonic()
        eventually(lambda: mode(cluster, namespace) == "fast", what="put back", timeout=30)
        watched = time.monotonic() - edited
        text = standby_log.read_text()
    print(
        f"lease {duration}s: takeover put back {takeover:.1f}s after the kill; next {watched:.1f}s"
    )
    assert re.search(
        rf"pass started at revision \w+ for {namespace}/web \(ConfigMap/{namespace}/settings",
        text,
    ), text
    # The Lease runs out `duration` after the leader's last renewal, and the standby
    # retries every 2/15 of it; its first pass then puts the edit back.
    assert takeover <= duration + duration * 2 / 15 + 5, takeover
    assert watched < 5, watched


def test_new_outputs_of_a_release_of_another_repository_re_render_its_dependents_here(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    platform = bench_with_chart(cluster, tmp_path / "platform", "zookeeper")
    fields = {"chartPath": "charts/zookeeper"}
    platform.release(namespace, "zookeeper", configValues={"replicas": 2}, **fields)
    assert all(r.ready for r in platform.run().releases.values())
    kafka = manifests.kafka_on_zookeeper(namespace)
    files = {
        f"charts/kafka/{path.relative_to(CHARTS / 'kafka')}": path.read_text()
        for path in (CHARTS / "kafka").rglob("*")
        if path.is_file()
    }
    files["harmonia.yaml"] = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
    files[f"releases/{namespace}/kafka.yaml"] = json.dumps(kafka)
    git_repos.commit_and_push(files, "kafka")
    log = tmp_path / "run.log"
    args = ("--repo", str(git_repos.remote), "--ref", "main", *FAR)
    with running_with(cluster, tmp_path / "cache", log, *args):
        eventually(lambda: "pass finished" in log.read_text(), what="first pass", timeout=120)
        assert kafka_connect(cluster, namespace).count(":2181") == 2

        platform.release(namespace, "zookeeper", configValues={"replicas": 3}, **fields)
        assert all(r.ready for r in platform.run().releases.values())

        eventually(
            lambda: kafka_connect(cluster, namespace).count(":2181") == 3,
            what="Kafka re-rendered with three ZooKeeper addresses",
            timeout=60,
        )
        text = log.read_text()
    assert re.search(
        rf"pass started at revision \w+ for {namespace}/kafka "
        rf"\({namespace}/zookeeper published new outputs\)",
        text,
    ), text
