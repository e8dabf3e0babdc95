"""Commit statuses from a real `harmonia run --once`: a loopback server playing GitHub's
statuses API gets, for the commit the pass applied, pending while the release waits for
Ready then success; nothing for a commit that changes no release; at a broken commit,
failure with the reason; never the token."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests import manifests
from tests.cluster.test_run_loop import run_once
from tests.conftest import GitRepos, LiveCluster
from tests.recording_server import Recorded, Reply, recording_server

TOKEN = "ghp_c0mmit-status-t0ken"


def files(namespace: str, *, broken: bool) -> dict[str, str]:
    """A Deployment (the pass waits for it: pending before success) and a ConfigMap, which
    `broken` gives a key the API server refuses."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"mode": "fast", **({"bad key!": "x"} if broken else {})},
    }
    objects = [manifests.workload("Deployment", "web", replicas=1), config_map]
    release = manifests.release(namespace, "web", chartPath="charts/web")
    return {
        "harmonia.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n",
        f"releases/{namespace}/web.yaml": yaml.safe_dump(release),
        "charts/web/objects.yaml": yaml.safe_dump_all(objects),
    }


def config(tmp_path: Path, api_url: str) -> Path:
    token = tmp_path / "forge-token"
    token.write_text(TOKEN + "\n")
    document = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "ReconcilerConfig",
        "forge": {
            "type": "github",
            "apiUrl": api_url,
            "tokenFile": str(token),
            "repository": "platform/releases",
            "linkUrl": "https://harmonia.example/releases/{namespace}/{name}",
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def statuses(requests: list[Recorded], commit: str) -> list[dict[str, str]]:
    """The statuses posted for `commit`, each checked against GitHub's documented request
    (https://docs.github.com/en/rest/commits/statuses#create-a-commit-status)."""
    posted = []
    for request in requests:
        assert (request.method, request.path) == (
            "POST",
            f"/repos/platform/releases/statuses/{commit}",
        )
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/vnd.github+json"
        posted.append(request.json())
    return posted


def test_a_pass_sets_pending_then_success_on_the_commit_it_applied_and_failure_on_a_broken_one(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    good = git_repos.commit_and_push(files(namespace, broken=False), "web")
    with recording_server(lambda _request: Reply(201, {"id": 1})) as forge:
        path = config(tmp_path, forge.url)
        finished = run_once(cluster, git_repos, tmp_path / "cache", "--config", str(path))
        assert finished.returncode == 0, finished.stderr
        first = statuses(list(forge.requests), good)
        forge.requests.clear()
        git_repos.commit_and_push({"README.md": "the releases\n"}, "a commit no release sees")
        unchanged = run_once(cluster, git_repos, tmp_path / "cache", "--config", str(path))
        assert (unchanged.returncode, forge.requests) == (0, [])  # no release to speak of
        broken = git_repos.commit_and_push(files(namespace, broken=True), "web, broken")
        forge.requests.clear()
        failed = run_once(cluster, git_repos, tmp_path / "cache", "--config", str(path))
        second = statuses(list(forge.requests), broken)
    context = f"harmonia/{namespace}/web"
    assert [(status["context"], status["state"]) for status in first] == [
        (context, "pending"),
        (context, "success"),
    ]
    assert first[0]["description"] == "waiting for Ready"
    assert first[1]["target_url"] == f"https://harmonia.example/releases/{namespace}/web"
    assert failed.returncode == 1
    (failure,) = second
    assert failure["state"] == "failure" and context == failure["context"]
    assert f"ConfigMap/{namespace}/settings" in failure["description"]
    assert len(failure["description"]) <= 140
    output = finished.stdout + finished.stderr + failed.stdout + failed.stderr
    assert TOKEN not in output
