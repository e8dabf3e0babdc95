"""Two environments, two clusters, one Git remote: the pull model end to end.

staging runs in the session's dev cluster, prod in a second dev cluster of this test's own;
each is reconciled by its own `harmonia run --environment` from the same remote. Each
converges to its environment's values; a change to the base release reaches both; a change
to prod's overlay reaches prod alone (staging's object is not even written); `harmonia
promote` makes a branch whose review is exactly the promoted change, in prod only; merged,
it converges prod to staging's chart and values. Both reconcilers commit their status to
the one status branch, each under its own folder.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from tests import manifests
from tests.cluster.test_environments import harmonia, settings, web_charts
from tests.cluster.test_run_loop import eventually, remote_git, running_with
from tests.conftest import GitRepos, LiveCluster, own_dev_cluster

PASSES = ("--interval", "2s", "--jitter", "0", "--no-leader-elect", "--listen", "off")
CONVERGE_SECONDS = 120


@pytest.fixture()
def prod_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    """A second dev cluster: prod's, beside the session's (staging's)."""
    with own_dev_cluster(tmp_path_factory.mktemp("prod-cluster")) as (live, _dev):
        yield live


def repository_files(
    namespace: str, *, shared: str = "one", prod_mode: str = "careful"
) -> dict[str, str]:
    release = manifests.release(
        namespace, "web", chartPath="charts/web-1", configValues={"mode": "base", "shared": shared}
    )
    files = {
        "harmonia.yaml": (
            "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"
            "environments:\n  staging: {}\n  prod: {}\n"
        ),
        f"releases/{namespace}/web.yaml": yaml.safe_dump(release),
        f"environments/staging/{namespace}/web.yaml": (
            "chartPath: charts/web-2\nconfigValues: {mode: fast}\n"
        ),
        f"environments/prod/{namespace}/web.yaml": f"configValues: {{mode: {prod_mode}}}\n",
    }
    return {**files, **web_charts("1", "2")}


def resource_version(cluster: LiveCluster, namespace: str) -> str:
    shown = cluster.kubectl(
        "-n",
        namespace,
        "get",
        "configmap",
        "settings",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    )
    return shown.stdout


def converges(cluster: LiveCluster, namespace: str, expected: dict[str, str], what: str) -> None:
    eventually(
        lambda: settings(cluster, namespace) == expected, timeout=CONVERGE_SECONDS, what=what
    )


def synced_at(repos: GitRepos, environment: str, namespace: str) -> tuple[object, object]:
    """(the revision of the last pass, the state) in the environment's status file."""
    shown = subprocess.run(
        [
            "git",
            f"--git-dir={repos.remote}",
            "show",
            f"harmonia-status:status/{environment}/{namespace}/web.yaml",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = yaml.safe_load(shown.stdout) if shown.returncode == 0 else None
    if not isinstance(found, dict) or not isinstance(found.get("sync"), dict):
        return None, None
    return found["sync"].get("revision"), found.get("state")


def test_two_clusters_each_converge_to_their_environment_from_one_remote(
    cluster: LiveCluster,
    prod_cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    tmp_path: Path,
) -> None:
    staging = cluster
    prod_cluster.kubectl("create", "namespace", namespace)
    git_repos.commit_and_push(repository_files(namespace), "web in staging and prod")
    reconcilers = ExitStack()
    with reconcilers:
        for name, where in (("staging", staging), ("prod", prod_cluster)):
            reconcilers.enter_context(
                running_with(
                    where,
                    tmp_path / f"cache-{name}",
                    tmp_path / f"run-{name}.log",
                    *("--repo", str(git_repos.remote), "--ref", "main", *PASSES),
                    *("--environment", name),
                )
            )
        converges(
            staging, namespace, {"mode": "fast", "shared": "one", "chart": "2.0.0"}, "staging"
        )
        converges(
            prod_cluster, namespace, {"mode": "careful", "shared": "one", "chart": "1.0.0"}, "prod"
        )

        # A change to the base release reaches both environments.
        git_repos.commit_and_push(repository_files(namespace, shared="two"), "shared: two")
        converges(
            staging, namespace, {"mode": "fast", "shared": "two", "chart": "2.0.0"}, "staging"
        )
        converges(
            prod_cluster, namespace, {"mode": "careful", "shared": "two", "chart": "1.0.0"}, "prod"
        )

        # A change to prod's overlay reaches prod alone: staging's object is not written.
        untouched = resource_version(staging, namespace)
        overlay_change = repository_files(namespace, shared="two", prod_mode="careful-2")
        head = git_repos.commit_and_push(overlay_change, "prod: careful-2")
        converges(
            prod_cluster,
            namespace,
            {"mode": "careful-2", "shared": "two", "chart": "1.0.0"},
            "prod",
        )
        eventually(
            lambda: synced_at(git_repos, "staging", namespace)[0] == head,
            timeout=CONVERGE_SECONDS,
            what="staging's pass of the overlay commit",
        )
        assert resource_version(staging, namespace) == untouched

        # A promotion: a branch whose review is the promoted change, in prod only.
        root = str(git_repos.work)
        cache = tmp_path / "cache-cli"
        promoted = harmonia(
            staging, cache, "promote", f"{namespace}/web", "--from", "staging", "--to", "prod", root
        )
        assert promoted.returncode == 0, promoted.stderr
        branch = f"promote/{namespace}-web-staging-to-prod"
        changed = git_repos.git("diff", "--name-only", "main", branch).split()
        assert changed == [f"environments/prod/{namespace}/web.yaml"]
        review = harmonia(
            staging, cache, "diff", "--base", "main", "--head", branch, root, "-o", "json"
        )
        assert review.returncode == 0, review.stderr
        reviewed = json.loads(review.stdout)["environments"]
        assert [item["change"] for item in reviewed["staging"]["releases"]] == ["unchanged"]
        assert [item["change"] for item in reviewed["prod"]["releases"]] == ["changed"]
        text = harmonia(staging, cache, "diff", "--base", "main", "--head", branch, root)
        changed_lines = [
            line
            for line in text.stdout.splitlines()
            if line[:1] in "+-" and line[:3] not in ("+++", "---")
        ]
        assert sorted(changed_lines) == sorted(
            [
                "-  chart: 1.0.0",
                "+  chart: 2.0.0",
                "-  mode: careful-2",
                "+  mode: fast",
            ]
        ), text.stdout

        # Merged, prod converges to staging's chart and values; staging is left alone.
        git_repos.git("merge", "--quiet", "--ff-only", branch)
        merged = git_repos.git("rev-parse", "HEAD")
        git_repos.git("push", "--quiet", "origin", "main")
        converges(
            prod_cluster, namespace, {"mode": "fast", "shared": "two", "chart": "2.0.0"}, "prod"
        )
        eventually(
            lambda: all(
                synced_at(git_repos, name, namespace) == (merged, "Ready")
                for name in ("staging", "prod")
            ),
            timeout=CONVERGE_SECONDS,
            what="both environments' status of the merged promotion on the one status branch",
        )
        assert resource_version(staging, namespace) == untouched
    listed = remote_git(git_repos, "ls-tree", "-r", "--name-only", "harmonia-status").split()
    assert f"status/staging/{namespace}/web.yaml" in listed
    assert f"status/prod/{namespace}/web.yaml" in listed
