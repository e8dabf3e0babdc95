"""Fixtures of the fault tests: a dev cluster of the test's own (its components get
killed), and a Git remote over HTTP that fails or races on cue.

The `faults` marker names the tests that start their own cluster; it is registered
here as well as in pyproject.toml so that `--strict-markers` accepts it either way.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from devcluster.cluster import DevCluster
from devcluster.state import Ports
from tests.conftest import GitRepos, LiveCluster, own_dev_cluster
from tests.waiting import wait_for

REPOSITORY_ROOT = Path(__file__).parents[2]


@dataclass(frozen=True)
class OwnCluster:
    """A dev cluster for one test: `live` to talk to it, `dev` to kill and restart parts."""

    live: LiveCluster
    dev: DevCluster

    def kill(self, component: str) -> None:
        self.dev.kill(component)

    def restart(self, component: str) -> None:
        self.dev.restart(component, self.live.binaries)

    @contextmanager
    def second_api_server(self, folder: Path) -> Iterator[LiveCluster]:
        """Another API server on the same etcd, on a port of its own, for as long as the
        block lasts: the door someone else's edit comes through while the API server
        Harmonia talks to is down."""
        port = Ports.free().apiserver
        folder.mkdir(parents=True, exist_ok=True)
        config = yaml.safe_load(self.live.kubeconfig.read_text())
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
        kubeconfig = folder / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(config))
        second = LiveCluster(kubeconfig=kubeconfig, binaries=self.live.binaries)
        command = self.dev.second_api_server_command(self.live.binaries, port=port)
        with (folder / "kube-apiserver.log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(
                lambda: second.kubectl("get", "--raw", "/readyz", check=False).returncode,
                until=lambda code: code == 0,
                what="the second API server ready",
                timeout=120,
            )
            yield second
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture()
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnCluster]:
    with own_dev_cluster(tmp_path_factory.mktemp("own-cluster")) as (live, dev):
        yield OwnCluster(live, dev)


@dataclass(frozen=True)
class FaultyRemote:
    """`tests/faults/http_remote.py` serving the test's bare remote over smart HTTP."""

    port: int
    token: str
    control: Path
    repository: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.repository.name}"

    def break_down(self) -> None:
        """Answer every request with 500 until `recover`."""
        (self.control / "broken").touch()

    def recover(self) -> None:
        (self.control / "broken").unlink(missing_ok=True)

    def before_next_push(self, *command: str) -> None:
        """Run `command` once, when the next push asks for the remote's refs: a commit
        someone else pushes just before Harmonia's own push."""
        (self.control / "before-push").write_text("\0".join(command))


@pytest.fixture()
def faulty_remote(git_repos: GitRepos, tmp_path: Path) -> Iterator[FaultyRemote]:
    token = "tok-faults-51c0"
    control = tmp_path / "remote-control"
    control.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faults.http_remote",
            "--root",
            str(git_repos.remote.parent),
            "--token",
            token,
            "--control",
            str(control),
        ],
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        assert line.strip().isdigit(), f"http_remote did not start (printed {line!r})"
        yield FaultyRemote(int(line), token, control, git_repos.remote)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
