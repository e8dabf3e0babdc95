"""`harmonia run` between its ticks, with the interval far away (10m): a hand edit is put
back from the watch, `harmonia sync --wait` gets its pass and its answer, and a standby
acts on nothing it sees."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.cluster.test_cli_cluster import harmonia
from tests.cluster.test_run_loop import eventually, repository_files, running_with
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
