"""Shared fixtures: the real dev cluster (once per session), a namespace per test,
and real Git repositories (a bare remote and a working clone) on disk.

In CI (`CI` set) a test that needs the cluster or Git is never skipped: a skip
there is turned into a failure, so a missing binary cannot pass silently.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from devcluster.build import ensure_binaries
from devcluster.cluster import DevCluster
from devcluster.state import Ports

REAL_PARTS = {"cluster": "the dev cluster", "git": "real Git repositories"}


@dataclass(frozen=True)
class LiveCluster:
    kubeconfig: Path
    binaries: dict[str, Path]

    def api(self) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binaries["kubectl"]), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    """HARMONIA_TEST_KUBECONFIG names a running cluster; else one is started for the session."""
    binaries = ensure_binaries()
    named = os.environ.get("HARMONIA_TEST_KUBECONFIG")
    if named:
        yield LiveCluster(kubeconfig=Path(named), binaries=binaries)
        return
    dev = DevCluster(tmp_path_factory.mktemp("devcluster") / "state")
    info = dev.up(binaries, ports=Ports.free())
    try:
        yield LiveCluster(kubeconfig=info.kubeconfig, binaries=binaries)
    finally:
        dev.down()


@contextmanager
def own_dev_cluster(folder: Path) -> Iterator[tuple[LiveCluster, DevCluster]]:
    """A dev cluster of a test's own, started in `folder` on free ports, stopped at the end:
    for a test that kills its parts, or that needs a second cluster beside the session's."""
    binaries = ensure_binaries()
    dev = DevCluster(folder / "state")
    info = dev.up(binaries, ports=Ports.free())
    try:
        yield LiveCluster(kubeconfig=info.kubeconfig, binaries=binaries), dev
    finally:
        dev.down()


@pytest.fixture()
def namespace(cluster: LiveCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted (without waiting) afterwards."""
    stem = request.node.name.lower().replace("_", "-")
    stem = "".join(ch for ch in stem if ch.isalnum() or ch == "-")[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    api = client.CoreV1Api(cluster.api())
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        api.delete_namespace(name)
        api.api_client.close()


@dataclass(frozen=True)
class GitRepos:
    """A bare repository standing in for the remote, and a clone to commit in."""

    remote: Path
    work: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.work, capture_output=True, text=True, check=True
        ).stdout.strip()

    def write(self, files: dict[str, str]) -> None:
        for relative, text in files.items():
            path = self.work / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def commit_and_push(self, files: dict[str, str], message: str, *, branch: str = "main") -> str:
        self.write(files)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        self.git("push", "--quiet", "origin", f"HEAD:{branch}")
        return self.git("rev-parse", "HEAD")


@pytest.fixture()
def git_repos(tmp_path: Path) -> GitRepos:
    return new_git_repos(tmp_path)


def new_git_repos(folder: Path) -> GitRepos:
    """A bare remote and a clone on `main` in `folder` (the fixture's, or a second one)."""
    remote = folder / "remote.git"
    work = folder / "work"
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote)], check=True
    )
    subprocess.run(
        ["git", "clone", "--quiet", str(remote), str(work)], check=True, capture_output=True
    )
    repos = GitRepos(remote=remote, work=work)
    repos.git("config", "user.name", "Harmonia Tests")
    repos.git("config", "user.email", "tests@harmonia.invalid")
    repos.git("checkout", "--quiet", "-b", "main")
    return repos


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "cluster" in fixtures:
            item.add_marker(pytest.mark.cluster)
        if "git_repos" in fixtures:
            item.add_marker(pytest.mark.git)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (os.environ.get("CI") and report.skipped):
        return
    needs = [what for marker, what in REAL_PARTS.items() if item.get_closest_marker(marker)]
    if needs:
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in CI, but this test needs {' and '.join(needs)}: {report.longrepr}"
        )
