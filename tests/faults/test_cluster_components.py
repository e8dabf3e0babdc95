"""The control plane failing under a pass: kube-apiserver and etcd killed and restarted.

Each test starts a dev cluster of its own (marker `faults`), since it kills parts of it:
the API server in the middle of `harmonia apply` writing a release of hundreds of
objects, and etcd while `harmonia run` applies a new commit. The failure is reported,
and once the component is back the next pass converges: every rendered object there
with its data, nothing else carrying the release's labels, the inventory exact.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.types import release_key
from tests.cluster.test_run_loop import environment, eventually, free_port, http_get, running
from tests.conftest import GitRepos, LiveCluster
from tests.faults.conftest import OwnCluster
from tests.faults.convergence import (
    assert_converged,
    config_maps,
    converged,
    numbered,
    repository_files,
    when_written,
    write_files,
)

pytestmark = pytest.mark.faults

HARMONIA = (sys.executable, "-m", "reconciler")
NAMESPACE = "faults"
RELEASE = "app"
KEY = release_key(NAMESPACE, RELEASE)
SOURCE_ID = "tests:faults"


def harmonia(cluster: LiveCluster, cache: Path, *args: str) -> subprocess.Popen[str]:
    """`harmonia ARGS` started in the background; `finished` waits for it."""
    return subprocess.Popen(
        [*HARMONIA, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(cluster, cache),
    )


def apply_folder(cluster: LiveCluster, root: Path, cache: Path) -> subprocess.Popen[str]:
    return harmonia(cluster, cache, "apply", str(root), "--source-id", SOURCE_ID)


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Its exit code and what it printed on stderr."""
    _stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


@pytest.mark.parametrize(
    "next_commit",
    ["the same", "a revert"],
)
def test_an_api_server_killed_mid_apply_and_restarted_loses_and_leaves_nothing_on_the_next_pass(
    own_cluster: OwnCluster, tmp_path: Path, next_commit: str
) -> None:
    cluster, root, cache = own_cluster.live, tmp_path / "repo", tmp_path / "cache"
    first = config_maps(numbered(0, 60), value="one")
    write_files(root, repository_files(NAMESPACE, {RELEASE: first}))
    assert finished(apply_folder(cluster, root, cache))[0] == 0
    assert_converged(cluster, NAMESPACE, RELEASE, first)

    # The next commit drops 20 objects, rewrites 40 and adds 260.
    second = config_maps(numbered(20, 320), value="two")
    write_files(root, repository_files(NAMESPACE, {RELEASE: second}))
    cut = apply_folder(cluster, root, cache)
    when_written(cluster, KEY, at_least=65, writer=cut)
    own_cluster.kill("kube-apiserver")
    code, stderr = finished(cut)
    assert code == 3, stderr
    assert "the API server did not answer" in stderr

    own_cluster.restart("kube-apiserver")
    assert not converged(cluster, NAMESPACE, RELEASE, second), "the kill came after the pass"
    wanted = first if next_commit == "a revert" else second
    write_files(root, repository_files(NAMESPACE, {RELEASE: wanted}))
    code, stderr = finished(apply_folder(cluster, root, cache))
    assert code == 0, stderr
    assert_converged(cluster, NAMESPACE, RELEASE, wanted)
    diff = harmonia(cluster, cache, "diff", str(root), "--exit-code", "--source-id", SOURCE_ID)
    code, stderr = finished(diff)
    assert code == 0, stderr


def test_etcd_killed_during_a_pass_is_reported_and_the_loop_converges_once_it_is_back(
    own_cluster: OwnCluster, git_repos: GitRepos, tmp_path: Path
) -> None:
    cluster = own_cluster.live
    first = config_maps(numbered(0, 40), value="one")
    git_repos.commit_and_push(repository_files(NAMESPACE, {RELEASE: first}), "forty")
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\nbackoff: {base: 2s, max: 4s}\n"
    )
    port = free_port()
    log = tmp_path / "run.log"
    args = ("--listen", f"127.0.0.1:{port}", "--no-leader-elect", "--no-status")
    with running(
        cluster, git_repos, tmp_path / "cache", log, *args, "--config", str(config)
    ) as process:
        eventually(lambda: http_get(port, "/readyz")[0] == 200, timeout=120, what="first pass")
        assert_converged(cluster, NAMESPACE, RELEASE, first)

        second = config_maps(numbered(0, 200), value="two")
        commit = git_repos.commit_and_push(
            repository_files(NAMESPACE, {RELEASE: second}), "two hundred"
        )
        when_written(cluster, KEY, at_least=1, value="two", writer=process)
        own_cluster.kill("etcd")
        # Depending on the moment, the API server answers a write with etcd's reset
        # connection, or gives up on it after about 34s (504) and on a read after 60s:
        # the release fails with that message, or the pass stops (cluster unreachable).
        # A failed apply is then noted in the release's record, which can wait out the
        # API server's timeout once more before the pass ends and its outcomes are logged.
        failure = re.compile(rf"release {KEY} Failed \(.*\): .*(rpc error|Timeout)|stopped: ")
        eventually(lambda: failure.search(log.read_text()), timeout=300, what="the failure")
        reported = len(log.read_text())

        own_cluster.restart("etcd")
        eventually(
            lambda: f"release {KEY} Applied" in log.read_text()[reported:],
            timeout=180,
            what="a pass applying the release after etcd came back",
        )
        assert_converged(cluster, NAMESPACE, RELEASE, second, revision=commit)
        counted = (
            r'harmonia_passes_total\{result="failed"\} [1-9]|errors_total\{kind="cluster"\} [1-9]'
        )
        assert re.search(counted, http_get(port, "/metrics")[1])
