"""Harmonia itself killed with SIGKILL: mid-pass, and as the leader of two replicas.

The next start (or the standby, once the Lease runs out) converges: every rendered
object there, nothing left over or twice, the inventory record at the new commit.
Real `harmonia run` processes, a real bare remote, the shared dev cluster.
"""

from __future__ import annotations

import signal
from pathlib import Path

from reconciler.types import ReleaseKey, release_key
from tests.cluster import test_run_loop as run_loop
from tests.cluster.test_run_loop import (
    config_mode,
    eventually,
    identity_in,
    lease_holder,
    run_once,
    running,
)
from tests.conftest import GitRepos, LiveCluster
from tests.faults.convergence import (
    assert_converged,
    config_maps,
    converged,
    numbered,
    release_in_cluster,
    repository_files,
    when_written,
)


def test_harmonia_killed_mid_pass_converges_on_the_next_start(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    key = release_key(namespace, "app")
    first = config_maps(numbered(0, 60), value="one")
    git_repos.commit_and_push(repository_files(namespace, {"app": first}), "sixty")
    cache = tmp_path / "cache"
    assert run_once(cluster, git_repos, cache, "--no-status").returncode == 0

    second = config_maps(numbered(20, 320), value="two")
    commit = git_repos.commit_and_push(repository_files(namespace, {"app": second}), "more")
    args = ("--no-leader-elect", "--listen", "off", "--no-status")
    with running(cluster, git_repos, cache, tmp_path / "killed.log", *args) as process:
        when_written(cluster, key, at_least=65, writer=process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert not converged(cluster, namespace, "app", second), "the kill came after the pass"

    again = run_once(cluster, git_repos, cache, "--no-status")
    assert again.returncode == 0, again.stderr
    assert_converged(cluster, namespace, "app", second, revision=commit)


def test_the_standby_takes_over_a_killed_leader_and_applies_the_next_commit(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push(run_loop.repository_files(namespace), "add web")
    duration = 6
    lease = ("--lease-namespace", namespace, "--lease-duration", f"{duration}s")
    args = ("--listen", "off", "--no-status", *lease)
    logs = (tmp_path / "first.log", tmp_path / "second.log")
    with (
        running(cluster, git_repos, tmp_path / "cache-1", logs[0], *args) as first,
        running(cluster, git_repos, tmp_path / "cache-2", logs[1], *args) as second,
    ):
        eventually(lambda: all(map(identity_in, logs)), timeout=60, what="both identities")
        eventually(
            lambda: any("pass finished" in log.read_text() for log in logs),
            timeout=120,
            what="the leader's first pass",
        )
        leader_index = 0 if lease_holder(cluster, namespace) == identity_in(logs[0]) else 1
        leader, standby = (first, second)[leader_index], (second, first)[leader_index]
        leader_log, standby_log = logs[leader_index], logs[1 - leader_index]

        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=30)
        commit = git_repos.commit_and_push(run_loop.repository_files(namespace, mode="slower"), "2")
        eventually(
            lambda: lease_holder(cluster, namespace) == identity_in(standby_log),
            timeout=duration * 4,
            what="the standby holding the lease",
        )
        eventually(lambda: config_mode(cluster, namespace) == "slower", timeout=60, what="slower")
        eventually(
            lambda: recorded_revision(cluster, release_key(namespace, "web")) == commit,
            timeout=60,
            what="the inventory record at the new commit",
        )
        assert standby.poll() is None
    assert f"pass started at revision {commit[:12]}" in standby_log.read_text()
    assert commit[:12] not in leader_log.read_text()


def recorded_revision(cluster: LiveCluster, key: ReleaseKey) -> str | None:
    found = release_in_cluster(cluster, key)
    return found.revision if found is not None else None
