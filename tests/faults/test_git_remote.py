"""The Git remote failing under `harmonia run`: gone, answering 500, its branch deleted,
its history force-pushed, and someone else's push racing the status commit.

Real bare remotes (over the file system, or over smart HTTP through
`tests/faults/http_remote.py`), the real CLI, the shared dev cluster. A remote that
fails leaves the last good commit in force: hand edits are still taken back, nothing
is pruned, and the source is reported stale wherever a report can go.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from reconciler.types import release_key
from tests.cluster.test_run_loop import (
    STATUS_BRANCH,
    eventually,
    free_port,
    http_get,
    remote_git,
    run_once,
    running,
    status_file,
    status_tip,
)
from tests.cluster.workbench import REPOSITORY_FILE
from tests.conftest import GitRepos, LiveCluster
from tests.faults.conftest import FaultyRemote
from tests.faults.convergence import (
    assert_converged,
    config_maps,
    numbered,
    release_in_cluster,
    repository_files,
    set_value,
    value_of,
)

APP = config_maps(numbered(0, 3), value="one")


def source_in_api(port: int, namespace: str) -> dict[str, object]:
    code, body = http_get(port, f"/api/v1/releases?namespace={namespace}")
    assert code == 200, body
    source = json.loads(body)["source"]
    assert isinstance(source, dict)
    return source


def force_push(repos: GitRepos, files: dict[str, str], message: str) -> str:
    """Replace the remote's `main` with one new commit of `files`, unrelated to the old."""
    repos.git("checkout", "--quiet", "--orphan", f"rewritten-{uuid.uuid4().hex[:8]}")
    repos.git("rm", "-r", "--quiet", "--force", "--ignore-unmatch", ".")
    repos.write(files)
    repos.git("add", "--all")
    repos.git("commit", "--quiet", "-m", message)
    repos.git("push", "--quiet", "--force", "origin", "HEAD:main")
    return repos.git("rev-parse", "HEAD")


def resource_version(cluster: LiveCluster, namespace: str, name: str) -> str:
    found = cluster.kubectl("-n", namespace, "get", "configmap", name, "-o", "json")
    return str(json.loads(found.stdout)["metadata"]["resourceVersion"])


def test_an_unreachable_remote_keeps_the_last_good_commit_in_force_and_prunes_nothing(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    other = config_maps(["other"], value="one")
    releases = {"app": APP, "other": other}
    commit = git_repos.commit_and_push(repository_files(namespace, releases), "two releases")
    cache = tmp_path / "cache"
    assert run_once(cluster, git_repos, cache, "--no-status").returncode == 0

    # The remote goes away; meanwhile someone removes `other` on the moved remote.
    away = git_repos.remote.with_name("away.git")
    git_repos.remote.rename(away)
    git_repos.git("rm", "--quiet", f"releases/{namespace}/other.yaml")
    git_repos.git("commit", "--quiet", "-m", "remove other")
    git_repos.git("push", "--quiet", str(away), "HEAD:main")
    set_value(cluster, namespace, "cm-000", "by hand")

    stale = run_once(cluster, git_repos, cache, "--no-status")
    assert stale.returncode == 3, stale.stderr
    assert f"serving the last good commit {commit[:12]}" in stale.stderr
    assert value_of(cluster, namespace, "cm-000") == "one", "the hand edit was not healed"
    assert_converged(cluster, namespace, "app", APP, revision=commit)
    assert_converged(cluster, namespace, "other", other, revision=commit)

    # A reconciler that never fetched has no snapshot at all: it applies and removes nothing.
    never = run_once(cluster, git_repos, tmp_path / "empty-cache", "--no-status")
    assert never.returncode == 3, never.stderr
    assert "pass started" not in never.stderr
    assert_converged(cluster, namespace, "other", other, revision=commit)

    away.rename(git_repos.remote)
    back = run_once(cluster, git_repos, cache, "--no-status")
    assert back.returncode == 0, back.stderr
    assert release_in_cluster(cluster, release_key(namespace, "other")) is None
    assert value_of(cluster, namespace, "other") is None


def test_a_remote_answering_500_is_reported_stale_while_its_last_good_commit_stays_in_force(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    faulty_remote: FaultyRemote,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HARMONIA_GIT_TOKEN", faulty_remote.token)
    commit = git_repos.commit_and_push(repository_files(namespace, {"app": APP}), "app")
    port = free_port()
    # `running` names the bare remote; the later --repo (the HTTP one) wins.
    args = ("--repo", faulty_remote.url, "--listen", f"127.0.0.1:{port}", "--no-leader-elect")
    with running(cluster, git_repos, tmp_path / "cache", tmp_path / "run.log", *args):
        eventually(lambda: http_get(port, "/readyz")[0] == 200, timeout=120, what="a pass")
        assert source_in_api(port, namespace) == {"revision": commit, "stale": False, "error": None}
        eventually(lambda: status_tip(git_repos), timeout=60, what="a status commit")
        tip = status_tip(git_repos)

        faulty_remote.break_down()
        eventually(lambda: source_in_api(port, namespace)["stale"], timeout=60, what="stale")
        source = source_in_api(port, namespace)
        assert source["revision"] == commit
        assert "500" in str(source["error"]) and faulty_remote.token not in str(source["error"])
        eventually(lambda: http_get(port, "/readyz")[0] == 503, timeout=60, what="not ready")
        assert "500" in http_get(port, "/readyz")[1]
        set_value(cluster, namespace, "cm-001", "by hand")
        eventually(
            lambda: value_of(cluster, namespace, "cm-001") == "one", timeout=60, what="healed"
        )
        assert_converged(cluster, namespace, "app", APP, revision=commit)
        assert status_tip(git_repos) == tip, "the status branch moved while the remote failed"

        faulty_remote.recover()
        eventually(lambda: http_get(port, "/readyz")[0] == 200, timeout=60, what="ready again")
        assert source_in_api(port, namespace) == {"revision": commit, "stale": False, "error": None}
    assert faulty_remote.token not in (tmp_path / "run.log").read_text()


def test_a_branch_deleted_on_the_remote_keeps_its_last_commit_and_the_status_says_stale(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    commit = git_repos.commit_and_push(repository_files(namespace, {"app": APP}), "app")
    cache = tmp_path / "cache"
    assert run_once(cluster, git_repos, cache).returncode == 0
    assert "source" not in status_file(git_repos, f"status/{namespace}/app.yaml")

    remote_git(git_repos, "update-ref", "-d", "refs/heads/main")
    set_value(cluster, namespace, "cm-002", "by hand")
    stale = run_once(cluster, git_repos, cache)
    assert stale.returncode == 1, stale.stderr
    assert value_of(cluster, namespace, "cm-002") == "one"

    status = status_file(git_repos, f"status/{namespace}/app.yaml")
    assert status["state"] == "Ready"
    source = status["source"]
    assert isinstance(source, dict)
    assert (source["revision"], source["stale"]) == (commit, True)
    assert "(ref main): no branch or tag of that name on the remote" in source["error"]
    readme = remote_git(git_repos, "show", f"{STATUS_BRANCH}:status/README.md")
    assert "**Source stale**: the last fetch failed, so this pass ran on the last good " in readme


def test_a_force_pushed_history_is_followed_and_only_what_it_removed_is_pruned_behind_guards(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    releases = {
        name: config_maps([f"{name}-1", f"{name}-2"], value="one") for name in ("a", "b", "c", "d")
    }
    git_repos.commit_and_push(repository_files(namespace, releases), "four releases")
    old_tip = git_repos.commit_and_push({"NOTES.md": "history to rewrite\n"}, "notes")
    cache = tmp_path / "cache"
    assert run_once(cluster, git_repos, cache, "--no-status").returncode == 0
    untouched = {name: resource_version(cluster, namespace, name) for name in ("a-1", "b-1")}

    # New history: `d` is gone and `c` lost one object.
    kept = {"a": releases["a"], "b": releases["b"], "c": config_maps(["c-1"], value="one")}
    tip = force_push(git_repos, repository_files(namespace, kept), "rewritten")
    ancestry = subprocess.run(
        ["git", "merge-base", "--is-ancestor", old_tip, tip], cwd=git_repos.work
    )
    assert ancestry.returncode == 1, "the old tip should not be in the new history"

    followed = run_once(cluster, git_repos, cache, "--no-status")
    assert followed.returncode == 0, followed.stderr
    # A record keeps the revision at which its release last changed: `c` at the new tip.
    changed_at = {"a": old_tip, "b": old_tip, "c": tip}
    for name, objects in kept.items():
        assert_converged(cluster, namespace, name, objects, revision=changed_at[name])
    assert release_in_cluster(cluster, release_key(namespace, "d")) is None
    assert [value_of(cluster, namespace, name) for name in ("d-1", "d-2", "c-2")] == [None] * 3
    assert {name: resource_version(cluster, namespace, name) for name in untouched} == untouched

    # A history that drops every release, then one without even harmonia.yaml: the guards
    # hold and nothing is removed.
    for files, withheld, code in (
        (
            {"harmonia.yaml": REPOSITORY_FILE, "releases/README.md": "moved elsewhere\n"},
            "the snapshot lost 3 of 3 releases",
            0,
        ),
        ({"README.md": "oops\n"}, "harmonia.yaml did not load", 1),
    ):
        force_push(git_repos, files, "dropped everything")
        guarded = run_once(cluster, git_repos, cache, "--no-status")
        assert guarded.returncode == code, guarded.stderr
        assert f"prune withheld: {withheld}" in guarded.stderr, guarded.stderr
        for name, objects in kept.items():
            assert_converged(cluster, namespace, name, objects, revision=changed_at[name])


def test_a_status_push_rejected_because_someone_else_pushed_is_retried_on_top_of_theirs(
    cluster: LiveCluster,
    namespace: str,
    git_repos: GitRepos,
    faulty_remote: FaultyRemote,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HARMONIA_GIT_TOKEN", faulty_remote.token)
    git_repos.commit_and_push(repository_files(namespace, {"app": APP}), "app")
    cache = tmp_path / "cache"
    first = run_once(cluster, git_repos, cache, "--repo", faulty_remote.url)
    assert first.returncode == 0, first.stderr

    # Someone commits a note on the status branch; their push lands when Harmonia's next
    # push asks for the refs, i.e. after Harmonia fetched the branch and committed on it.
    someone = tmp_path / "someone"
    subprocess.run(
        ["git", "clone", "--quiet", "--branch", STATUS_BRANCH, str(git_repos.remote), someone],
        check=True,
    )
    (someone / "NOTES.md").write_text("a note from someone else\n")
    identity = ("-c", "user.name=Someone", "-c", "user.email=someone@example.invalid")
    for command in (("add", "NOTES.md"), (*identity, "commit", "--quiet", "-m", "a note")):
        subprocess.run(["git", "-C", str(someone), *command], check=True)
    theirs = subprocess.run(
        ["git", "-C", str(someone), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    faulty_remote.before_next_push(
        "git", "-C", str(someone), "push", "--quiet", "origin", f"HEAD:{STATUS_BRANCH}"
    )

    changed = config_maps(numbered(0, 3), value="two")
    commit = git_repos.commit_and_push(repository_files(namespace, {"app": changed}), "two")
    second = run_once(cluster, git_repos, cache, "--repo", faulty_remote.url)
    assert second.returncode == 0, second.stderr
    assert not (faulty_remote.control / "before-push").exists(), "the competing push never ran"

    tip = status_tip(git_repos)
    assert remote_git(git_repos, "rev-parse", f"{tip}^") == theirs
    assert remote_git(git_repos, "show", f"{tip}:NOTES.md") == "a note from someone else"
    status = status_file(git_repos, f"status/{namespace}/app.yaml")
    assert (status["revision"], status["state"]) == (commit, "Ready")
    assert_converged(cluster, namespace, "app", changed, revision=commit)
