"""The review tests' workspace: a clone holding a copy of examples/, and `harmonia` run in
it as a CI job runs it (a subprocess, no cluster unless a test gives one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devcluster.build import ensure_binaries
from tests.conftest import GitRepos

EXAMPLES = Path(__file__).parents[2] / "examples"
HARMONIA = (sys.executable, "-m", "reconciler")


@dataclass(frozen=True)
class Workspace:
    """A clone to commit in, and the environment `harmonia` runs with."""

    repos: GitRepos
    environment: dict[str, str]

    def harmonia(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HARMONIA, *args],
            cwd=self.repos.work,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.repos.work / relative
        text = path.read_text()
        assert old in text, f"{relative} has no {old!r}"
        path.write_text(text.replace(old, new, 1))

    def commit(self, message: str) -> str:
        return self.repos.commit_and_push({}, message)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Charts and renders are cached by content: safe, and quicker, to share between tests."""
    return tmp_path_factory.mktemp("harmonia-cache")


@pytest.fixture()
def workspace(git_repos: GitRepos, shared_cache: Path, tmp_path: Path) -> Iterator[Workspace]:
    environment = {
        **os.environ,
        "HARMONIA_HELM": str(ensure_binaries()["helm"]),
        "HARMONIA_CACHE_DIR": str(shared_cache),
        "KUBECONFIG": str(tmp_path / "no-cluster-here"),
    }
    yield Workspace(git_repos, environment)


@pytest.fixture()
def examples(workspace: Workspace) -> Workspace:
    """The examples committed as the base, under examples/ of the repository."""
    shutil.copytree(EXAMPLES, workspace.repos.work / "examples")
    workspace.commit("The examples")
    return workspace


ROOT = "envs"
"""Where the environments example lies in the repository."""
STAGING = "environments/staging/shop/greeter.yaml"


@pytest.fixture()
def environments(workspace: Workspace) -> Workspace:
    """examples/two-environments with staging declared first (its overlay sets greeter's
    replicas), committed as the base."""
    shutil.copytree(EXAMPLES / "two-environments", workspace.repos.work / ROOT)
    workspace.edit(f"{ROOT}/harmonia.yaml", "environments:\n", "environments:\n  staging: {}\n")
    workspace.repos.write({f"{ROOT}/{STAGING}": "configValues:\n  replicas: 2\n"})
    workspace.commit("Three environments")
    return workspace
