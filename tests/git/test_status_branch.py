"""The status branch against a real bare remote: orphan start, no-op, races, the release branch.

No Git is mocked: `StatusBranch.publish` fetches, commits and pushes to a bare repository,
and the tests read the result back with plain `git` commands.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from reconciler.source import Credentials, RemoteUnreachable
from reconciler.source.status_branch import StatusBranch
from tests.conftest import GitRepos
from tests.git.conftest import HttpRemote

pytestmark = pytest.mark.git

STATUS = "harmonia-status"
WEB = {"status/shop/web.yaml": "state: Ready\n", "status/README.md": "# Release status\n"}


def status_branch(repos: GitRepos, tmp_path: Path, *, branch: str = STATUS) -> StatusBranch:
    return StatusBranch(
        str(repos.remote), branch=branch, credentials=Credentials(), cache_root=tmp_path / "cache"
    )


def remote_git(repos: GitRepos, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repos.remote, capture_output=True, text=True, check=True
    ).stdout.strip()


def files_on(repos: GitRepos, ref: str) -> list[str]:
    return remote_git(repos, "ls-tree", "-r", "--name-only", ref).splitlines()


def test_the_first_publish_starts_an_orphan_branch_holding_only_status_files(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"releases/shop/web.yaml": "name: web\n"}, "Add web")
    seen: list[Mapping[str, str]] = []

    def compose(current: Mapping[str, str]) -> Mapping[str, str]:
        seen.append(current)
        return WEB

    result = status_branch(git_repos, tmp_path).publish(compose, message="Status of abc")

    assert seen == [{}]
    assert result.attempts == 1
    assert result.commit == remote_git(git_repos, "rev-parse", STATUS)
    assert sorted(files_on(git_repos, STATUS)) == sorted(WEB)
    assert remote_git(git_repos, "rev-list", "--count", STATUS) == "1"
    identity = remote_git(git_repos, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", STATUS)
    assert (
        identity
        == "Harmonia <harmonia@harmonia.dev>|Harmonia <harmonia@harmonia.dev>|Status of abc"
    )
    assert remote_git(git_repos, "show", f"{STATUS}:status/shop/web.yaml") == "state: Ready"


def test_the_same_content_again_makes_no_commit(git_repos: GitRepos, tmp_path: Path) -> None:
    branch = status_branch(git_repos, tmp_path)
    first = branch.publish(lambda _current: WEB, message="Status")
    seen: list[Mapping[str, str]] = []

    def compose(current: Mapping[str, str]) -> Mapping[str, str]:
        seen.append(current)
        return dict(current)

    second = branch.publish(compose, message="Status again")

    assert seen == [WEB]
    assert (second.commit, second.attempts) == (None, 0)
    assert remote_git(git_repos, "rev-parse", STATUS) == first.commit


def test_a_push_rejected_because_the_branch_moved_is_composed_again_on_the_new_tip(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    branch = status_branch(git_repos, tmp_path)
    branch.publish(lambda _current: WEB, message="First status")
    calls: list[Mapping[str, str]] = []

    def compose(current: Mapping[str, str]) -> Mapping[str, str]:
        calls.append(current)
        if len(calls) == 1:
            git_repos.git("fetch", "--quiet", "origin", STATUS)
            git_repos.git("checkout", "--quiet", "-B", "competitor", "FETCH_HEAD")
            git_repos.commit_and_push({"NOTES.md": "a competing writer\n"}, "Note", branch=STATUS)
        return {**current, "status/shop/web.yaml": "state: Degraded\n"}

    result = branch.publish(compose, message="Second status")

    assert result.attempts == 2 and len(calls) == 2
    subjects = remote_git(git_repos, "log", "--format=%s", STATUS).splitlines()
    assert subjects == ["Second status", "Note", "First status"]
    assert result.commit == remote_git(git_repos, "rev-parse", STATUS)
    assert "NOTES.md" in files_on(git_repos, STATUS)
    assert remote_git(git_repos, "show", f"{STATUS}:status/shop/web.yaml") == "state: Degraded"


def test_publishing_to_the_release_branch_adds_a_commit_touching_only_status(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    release_commit = git_repos.commit_and_push(
        {"harmonia.yaml": "releasesDir: releases\n", "releases/shop/web.yaml": "name: web\n"},
        "Add web",
    )

    result = status_branch(git_repos, tmp_path, branch="main").publish(
        lambda _current: WEB, message="Status"
    )

    assert result.commit == remote_git(git_repos, "rev-parse", "main")
    assert remote_git(git_repos, "rev-parse", "main~1") == release_commit
    changed = remote_git(git_repos, "diff", "--name-only", "main~1", "main").splitlines()
    assert sorted(changed) == sorted(WEB)
    assert "releases/shop/web.yaml" in files_on(git_repos, "main")


def test_a_status_folder_below_a_subfolder_is_read_and_written_there(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"deploy/status/old.yaml": "state: Failed\n"}, "Old status")
    branch = StatusBranch(
        str(git_repos.remote),
        branch="main",
        folder="deploy",
        credentials=Credentials(),
        cache_root=tmp_path / "cache",
    )
    seen: list[Mapping[str, str]] = []

    def compose(current: Mapping[str, str]) -> Mapping[str, str]:
        seen.append(current)
        return WEB

    branch.publish(compose, message="Status")

    assert seen == [{"status/old.yaml": "state: Failed\n"}]
    assert sorted(files_on(git_repos, "main")) == sorted(f"deploy/{path}" for path in WEB)


def test_a_release_file_disappears_when_compose_drops_it(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    branch = status_branch(git_repos, tmp_path)
    branch.publish(lambda _current: WEB, message="Status")

    result = branch.publish(
        lambda current: {k: v for k, v in current.items() if k != "status/shop/web.yaml"},
        message="web removed",
    )

    assert result.commit is not None
    assert files_on(git_repos, STATUS) == ["status/README.md"]


def test_a_path_outside_status_is_refused(git_repos: GitRepos, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a path under status/"):
        status_branch(git_repos, tmp_path).publish(
            lambda _current: {"releases/shop/web.yaml": "name: evil\n"}, message="Status"
        )


def test_an_unreachable_remote_raises_remote_unreachable(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    branch = status_branch(git_repos, tmp_path)
    git_repos.remote.rename(tmp_path / "moved-away.git")

    with pytest.raises(RemoteUnreachable) as caught:
        branch.publish(lambda _current: WEB, message="Status")

    assert str(caught.value).startswith(f"{git_repos.remote} (status branch {STATUS}): ")


def test_a_token_pushes_over_https_and_is_written_nowhere(
    git_repos: GitRepos, http_remote: HttpRemote, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    branch = StatusBranch(
        http_remote.url(git_repos.remote),
        branch=STATUS,
        credentials=Credentials(token=http_remote.token),
        cache_root=cache,
    )

    result = branch.publish(lambda _current: WEB, message="Status")

    assert result.commit == remote_git(git_repos, "rev-parse", STATUS)
    written = [path for path in cache.rglob("*") if path.is_file()]
    assert any(path.name == "config" for path in written)
    assert not any(http_remote.token.encode() in path.read_bytes() for path in written)


def test_each_environment_publishes_under_its_own_folder_and_keeps_the_others(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    def environment_branch(environment: str) -> StatusBranch:
        return StatusBranch(
            str(git_repos.remote),
            branch=STATUS,
            environment=environment,
            credentials=Credentials(),
            cache_root=tmp_path / "cache",
        )

    environment_branch("staging").publish(lambda _current: WEB, message="staging")
    seen: list[Mapping[str, str]] = []

    def compose(current: Mapping[str, str]) -> Mapping[str, str]:
        seen.append(current)
        return {"status/shop/web.yaml": "state: Degraded\n"}

    environment_branch("prod").publish(compose, message="prod")
    environment_branch("staging").publish(
        lambda current: {**current, "status/shop/web.yaml": "state: Failed\n"}, message="again"
    )

    assert seen == [{}]
    assert sorted(files_on(git_repos, STATUS)) == [
        "status/prod/shop/web.yaml",
        "status/staging/README.md",
        "status/staging/shop/web.yaml",
    ]
    assert remote_git(git_repos, "show", f"{STATUS}:status/prod/shop/web.yaml") == "state: Degraded"
    assert (
        remote_git(git_repos, "show", f"{STATUS}:status/staging/shop/web.yaml") == "state: Failed"
    )
