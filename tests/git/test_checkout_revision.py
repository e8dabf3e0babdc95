"""`checkout_revision`: one commit of the local repository holding PATH, as `harmonia diff
--base/--head` reads it. Real repositories on disk; nothing is mocked."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source import RefNotFound, SourceConfigError
from reconciler.source.git_source import checkout_revision
from tests.conftest import GitRepos

pytestmark = pytest.mark.git

RELEASE = "apiVersion: harmonia.dev/v1alpha1\nkind: Release\nname: web\nnamespace: shop\n"


@pytest.fixture()
def two_commits(git_repos: GitRepos) -> tuple[str, str]:
    first = git_repos.commit_and_push(
        {"deploy/harmonia.yaml": "kind: Repository\n", "deploy/releases/web.yaml": RELEASE},
        "First",
    )
    git_repos.git("tag", "v1")
    second = git_repos.commit_and_push(
        {"deploy/releases/web.yaml": RELEASE + "timeoutSec: 60\n"}, "Second"
    )
    return first, second


@pytest.mark.parametrize("revision", ["HEAD~1", "v1", "main~1", "FIRST", "FIRST_SHORT"])
def test_a_revision_is_any_name_git_rev_parse_takes(
    git_repos: GitRepos, two_commits: tuple[str, str], tmp_path: Path, revision: str
) -> None:
    first, _ = two_commits
    named = {"FIRST": first, "FIRST_SHORT": first[:9]}.get(revision, revision)

    snapshot = checkout_revision(git_repos.work / "deploy", named, cache_root=tmp_path / "cache")

    assert snapshot.commit == first
    assert snapshot.subfolder == "deploy"
    assert (snapshot.root / "releases/web.yaml").read_text() == RELEASE
    assert not (snapshot.root / ".git").exists()


def test_the_working_tree_s_uncommitted_edits_are_not_in_the_snapshot(
    git_repos: GitRepos, two_commits: tuple[str, str], tmp_path: Path
) -> None:
    _, second = two_commits
    (git_repos.work / "deploy/releases/web.yaml").write_text("edited, not committed\n")
    (git_repos.work / "deploy/releases/new.yaml").write_text("untracked\n")

    snapshot = checkout_revision(git_repos.work / "deploy", "HEAD", cache_root=tmp_path / "cache")

    assert snapshot.commit == second
    assert (snapshot.root / "releases/web.yaml").read_text() == RELEASE + "timeoutSec: 60\n"
    assert not (snapshot.root / "releases/new.yaml").exists()


def test_a_commit_no_branch_holds_is_still_checked_out(
    git_repos: GitRepos, two_commits: tuple[str, str], tmp_path: Path
) -> None:
    git_repos.git("checkout", "--quiet", "--detach")
    git_repos.write({"deploy/releases/web.yaml": "detached\n"})
    git_repos.git("commit", "--quiet", "-am", "A merge commit as CI checks it out")
    detached = git_repos.git("rev-parse", "HEAD")

    snapshot = checkout_revision(git_repos.work / "deploy", "HEAD", cache_root=tmp_path / "cache")

    assert snapshot.commit == detached
    assert (snapshot.root / "releases/web.yaml").read_text() == "detached\n"


def test_both_sides_of_a_diff_stay_on_disk_and_leave_no_last_good_record(
    git_repos: GitRepos, two_commits: tuple[str, str], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    base = checkout_revision(git_repos.work / "deploy", "HEAD~1", cache_root=cache)
    head = checkout_revision(git_repos.work / "deploy", "HEAD", cache_root=cache)

    assert base.root.is_dir() and head.root.is_dir() and base.root != head.root
    assert not list(cache.glob("*/state/*.json"))


@pytest.mark.parametrize(
    ("revision", "error", "words"),
    [
        ("no-such-branch", RefNotFound, "no such commit in the local repository"),
        ("HEAD~5", RefNotFound, "no such commit"),
        ("--output=/tmp/x", SourceConfigError, "not a revision"),
        ("", SourceConfigError, "not a revision"),
    ],
)
def test_an_unknown_or_malformed_revision_is_refused_naming_it(
    git_repos: GitRepos,
    two_commits: tuple[str, str],
    tmp_path: Path,
    revision: str,
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error, match=words) as raised:
        checkout_revision(git_repos.work / "deploy", revision, cache_root=tmp_path / "cache")
    assert f"(revision {revision})" in str(raised.value)


def test_a_folder_outside_any_git_repository_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    with pytest.raises(SourceConfigError, match="not inside a Git work tree"):
        checkout_revision(folder, "HEAD", cache_root=tmp_path / "cache")
