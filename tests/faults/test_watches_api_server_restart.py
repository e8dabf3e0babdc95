"""The watches of `harmonia run` across a restart of the API server it talks to.

The cluster has a second API server on the same etcd (as an HA control plane does), so
someone can edit a managed object while Harmonia's API server is down. The interval is
10 minutes: only the watches can explain a correction. Once the API server is back the
reflectors reconnect, see what changed while they were away (through the watch, or a
list when the API server says their version is gone: 410), and the release gets one
pass that puts everything back, once.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.cluster.test_run_loop import eventually, repository_files, running_with
from tests.conftest import GitRepos, LiveCluster
from tests.faults.conftest import OwnCluster

pytestmark = pytest.mark.faults

NAMESPACE = "watched"
FAR = ("--interval", "10m", "--jitter", "0", "--no-leader-elect", "--no-status")


def mode(cluster: LiveCluster) -> str:
    found = cluster.kubectl(
        "-n", NAMESPACE, "get", "cm", "settings", "-o", "jsonpath={.data.mode}", check=False
    )
    return found.stdout


def token_exists(cluster: LiveCluster) -> bool:
    found = cluster.kubectl("-n", NAMESPACE, "get", "secret", "token", check=False)
    return found.returncode == 0


def edit_mode(cluster: LiveCluster, value: str) -> None:
    patch = json.dumps({"data": {"mode": value}})
    cluster.kubectl("-n", NAMESPACE, "patch", "cm", "settings", "-p", patch)


def test_edits_made_while_the_api_server_was_down_are_put_back_once_after_it_returns(
    own_cluster: OwnCluster, git_repos: GitRepos, tmp_path: Path
) -> None:
    cluster = own_cluster.live
    git_repos.commit_and_push(repository_files(NAMESPACE), "web")
    log = tmp_path / "run.log"
    args = ("--repo", str(git_repos.remote), "--ref", "main", *FAR)
    with (
        running_with(cluster, tmp_path / "cache", log, *args) as process,
        own_cluster.second_api_server(tmp_path / "second") as second,
    ):
        eventually(lambda: "pass finished" in log.read_text(), what="first pass", timeout=120)
        assert mode(cluster) == "fast"
        time.sleep(3)  # the reflectors of the objects the first pass recorded are watching

        own_cluster.kill("kube-apiserver")
        edit_mode(second, "edited-while-down")
        second.kubectl("-n", NAMESPACE, "delete", "secret", "token")
        eventually(lambda: "; retrying" in log.read_text(), what="a failed watch", timeout=60)
        before = log.read_text()
        own_cluster.restart("kube-apiserver")
        back = time.monotonic()

        eventually(
            lambda: mode(cluster) == "fast" and token_exists(cluster),
            what="both edits put back",
            timeout=90,
        )
        put_back = time.monotonic() - back
        time.sleep(5)  # any second pass the reconnection would start has started
        after_restart = log.read_text()[len(before) :]

        edit_mode(cluster, "edited-after")
        edited = time.monotonic()
        eventually(lambda: mode(cluster) == "fast", what="the later edit put back", timeout=30)
        later = time.monotonic() - edited
        assert process.poll() is None
        text = log.read_text()

    print(f"put back {put_back:.1f}s after the API server answered again; later edit {later:.1f}s")
    passes = re.findall(
        rf"pass started at revision \w+ for {NAMESPACE}/web \((.*)\)", after_restart
    )
    assert f"ConfigMap/{NAMESPACE}/settings changed" in passes[0], after_restart
    assert f"Secret/{NAMESPACE}/token deleted" in passes[0], after_restart
    outcomes = re.findall(rf"release {NAMESPACE}/web (\w+) \(.*?\): (.*?); all", after_restart)
    # The pass's own writes come back through the watch as changes: the pass they ask
    # for finds nothing to do. One pass writes; none writes twice.
    assert outcomes[0] == (
        "Applied",
        f"1 created, 1 configured; drift corrected: ConfigMap/{NAMESPACE}/settings",
    ), after_restart
    assert all(outcome == "Unchanged" for outcome, _ in outcomes[1:]), after_restart
    assert len(passes) == len(outcomes) <= 2, after_restart
    assert "expired; listing again" in after_restart, after_restart
    assert text.count(f"drift corrected: ConfigMap/{NAMESPACE}/settings") == 2, text
    assert "Traceback" not in text
    assert later < 10, later
