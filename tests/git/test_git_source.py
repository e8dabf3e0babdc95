"""The Git source against real repositories on disk: a bare remote, a clone, pushes.

No Git is mocked: every test pushes commits to a real remote and fetches them
back through `GitSource`, the first step of the reconcile cycle.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.source import (
    Credentials,
    GitSource,
    RefNotFound,
    RemoteUnreachable,
    SourceConfigError,
    SubfolderInvalid,
    UnsafeSymlink,
)
from tests.conftest import GitRepos

pytestmark = pytest.mark.git

RELEASE = "apiVersion: harmonia.dev/v1alpha1\nkind: Release\nname: web\nnamespace: shop\n"


def source(repos: GitRepos, tmp_path: Path, *, ref: str = "HEAD", subfolder: str = "") -> GitSource:
    """A source with no credentials from the environment and its own cache."""
    return GitSource(
        str(repos.remote),
        ref=ref,
        subfolder=subfolder,
        credentials=Credentials(),
        cache_root=tmp_path / "cache",
    )


def test_a_branch_is_checked_out_as_a_snapshot_of_exactly_that_commit(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    sha = git_repos.commit_and_push({"releases/shop/web.yaml": RELEASE}, "Add web\n\nBody.")

    snapshot = source(git_repos, tmp_path, ref="main").fetch()

    assert snapshot.commit == sha
    assert snapshot.ref == "main"
    assert snapshot.author == "Harmonia Tests <tests@harmonia.invalid>"
    assert snapshot.message == "Add web\n\nBody."
    assert isinstance(snapshot.committed_at, datetime) and snapshot.committed_at.tzinfo
    assert (snapshot.root / "releases/shop/web.yaml").read_text() == RELEASE
    assert not (snapshot.root / ".git").exists()
    assert (snapshot.stale, snapshot.error, snapshot.unreachable) == (False, None, False)


def test_a_new_commit_pushed_is_picked_up_by_the_next_fetch_and_the_old_tree_kept(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"releases/web.yaml": "replicas: 1\n"}, "One replica")
    git_source = source(git_repos, tmp_path, ref="main")
    first = git_source.fetch()
    second_sha = git_repos.commit_and_push({"releases/web.yaml": "replicas: 3\n"}, "Three")

    second = git_source.fetch()

    assert second.commit == second_sha != first.commit
    assert (second.root / "releases/web.yaml").read_text() == "replicas: 3\n"
    assert (first.root / "releases/web.yaml").read_text() == "replicas: 1\n"


def test_the_default_ref_follows_the_remotes_default_branch(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    sha = git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")

    snapshot = source(git_repos, tmp_path).fetch()

    assert snapshot.commit == sha
    assert snapshot.ref == "HEAD"


def test_a_tag_pins_the_snapshot_while_the_branch_moves_on(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    tagged = git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")
    git_repos.git("tag", "--annotate", "-m", "Release 1", "v1")
    git_repos.git("push", "--quiet", "origin", "v1")
    git_repos.commit_and_push({"version.txt": "2\n"}, "Version 2")

    by_full_name = source(git_repos, tmp_path, ref="refs/tags/v1").fetch()
    by_short_name = source(git_repos, tmp_path, ref="v1").fetch()

    assert by_full_name.commit == by_short_name.commit == tagged
    assert (by_full_name.root / "version.txt").read_text() == "1\n"


def test_a_fixed_commit_is_served_after_the_branch_moved_on(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    pinned = git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")
    git_repos.commit_and_push({"version.txt": "2\n"}, "Version 2")

    snapshot = source(git_repos, tmp_path, ref=pinned).fetch()

    assert snapshot.commit == pinned
    assert (snapshot.root / "version.txt").read_text() == "1\n"


def test_a_fixed_commit_already_cached_needs_no_remote(git_repos: GitRepos, tmp_path: Path) -> None:
    pinned = git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")
    git_source = source(git_repos, tmp_path, ref=pinned)
    git_source.fetch()
    git_repos.remote.rename(tmp_path / "moved-away.git")

    snapshot = git_source.fetch()

    assert snapshot.commit == pinned
    assert not snapshot.stale


def test_a_commit_that_is_not_on_the_remote_is_a_permanent_ref_not_found(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")

    with pytest.raises(RefNotFound) as caught:
        source(git_repos, tmp_path, ref="0123456789abcdef0123456789abcdef01234567").fetch()

    assert not caught.value.temporary
    assert "0123456789ab" in str(caught.value)


def test_a_branch_that_does_not_exist_is_a_permanent_ref_not_found(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")

    with pytest.raises(RefNotFound, match="no branch or tag of that name") as caught:
        source(git_repos, tmp_path, ref="no-such-branch").fetch()

    assert not caught.value.temporary and not caught.value.unreachable


def test_a_subfolder_becomes_the_snapshot_root(git_repos: GitRepos, tmp_path: Path) -> None:
    git_repos.commit_and_push(
        {"deploy/prod/harmonia.yaml": "releases: releases\n", "README.md": "hi\n"}, "Layout"
    )

    snapshot = source(git_repos, tmp_path, ref="main", subfolder="./deploy/prod/").fetch()

    assert snapshot.subfolder == "deploy/prod"
    assert snapshot.root.name == "prod"
    assert (snapshot.root / "harmonia.yaml").is_file()
    assert (snapshot.root.parent.parent / "README.md").is_file()


def test_a_missing_subfolder_is_a_permanent_error_naming_it(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"deploy/harmonia.yaml": "{}\n"}, "Layout")

    with pytest.raises(SubfolderInvalid, match="'deploy/staging' does not exist") as caught:
        source(git_repos, tmp_path, ref="main", subfolder="deploy/staging").fetch()

    assert not caught.value.temporary


def test_a_subfolder_that_is_a_file_is_refused(git_repos: GitRepos, tmp_path: Path) -> None:
    git_repos.commit_and_push({"deploy": "not a folder\n"}, "Layout")

    with pytest.raises(SubfolderInvalid, match="is not a folder"):
        source(git_repos, tmp_path, ref="main", subfolder="deploy").fetch()


@pytest.mark.parametrize("subfolder", ["../elsewhere", "/etc", "deploy/../../x"])
def test_a_subfolder_leaving_the_repository_is_refused_before_any_fetch(
    git_repos: GitRepos, tmp_path: Path, subfolder: str
) -> None:
    with pytest.raises(SourceConfigError):
        source(git_repos, tmp_path, ref="main", subfolder=subfolder)


def test_a_symlinked_subfolder_pointing_outside_is_refused(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    (git_repos.work / "deploy").symlink_to("/etc")
    git_repos.commit_and_push({}, "Link out")

    with pytest.raises(SubfolderInvalid):
        source(git_repos, tmp_path, ref="main", subfolder="deploy").fetch()


def test_a_symlink_pointing_outside_the_repository_is_refused(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.write({"charts/web/values.yaml": "replicas: 1\n"})
    (git_repos.work / "charts/web/token").symlink_to("/var/run/secrets/token")
    (git_repos.work / "charts/web/inside").symlink_to("values.yaml")
    git_repos.commit_and_push({}, "Links")

    with pytest.raises(UnsafeSymlink, match="charts/web/token points outside"):
        source(git_repos, tmp_path, ref="main").fetch()


def test_a_removed_remote_leaves_the_last_good_snapshot_usable_and_stale(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    sha = git_repos.commit_and_push({"releases/web.yaml": RELEASE}, "Add web")
    git_source = source(git_repos, tmp_path, ref="main")
    good = git_source.fetch()
    git_repos.remote.rename(tmp_path / "moved-away.git")

    stale = git_source.fetch()

    assert stale.stale and stale.unreachable
    assert stale.commit == sha == good.commit
    assert stale.error is not None
    assert stale.error.startswith(f"{git_repos.remote} (ref main): remote unreachable")
    assert (stale.root / "releases/web.yaml").read_text() == RELEASE
    assert git_source.last_good == good

    (tmp_path / "moved-away.git").rename(git_repos.remote)
    assert not git_source.fetch().stale


def test_a_restarted_source_serves_the_remembered_snapshot_while_the_remote_is_gone(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    sha = git_repos.commit_and_push({"releases/web.yaml": RELEASE}, "Add web")
    source(git_repos, tmp_path, ref="main").fetch()
    git_repos.remote.rename(tmp_path / "moved-away.git")

    stale = source(git_repos, tmp_path, ref="main").fetch()

    assert stale.stale and stale.commit == sha
    assert (stale.root / "releases/web.yaml").is_file()


def test_a_source_that_never_fetched_raises_when_the_remote_is_unreachable(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_repos.remote.rename(tmp_path / "moved-away.git")

    with pytest.raises(RemoteUnreachable) as caught:
        source(git_repos, tmp_path, ref="main").fetch()

    assert caught.value.temporary and caught.value.unreachable


def test_a_force_pushed_history_is_followed(git_repos: GitRepos, tmp_path: Path) -> None:
    git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")
    git_repos.commit_and_push({"version.txt": "2\n"}, "Version 2")
    git_source = source(git_repos, tmp_path, ref="main")
    before = git_source.fetch()

    git_repos.git("reset", "--quiet", "--hard", "HEAD~1")
    git_repos.write({"version.txt": "2-rewritten\n"})
    git_repos.git("commit", "--quiet", "--all", "-m", "Version 2, rewritten")
    git_repos.git("push", "--quiet", "--force", "origin", "HEAD:main")
    rewritten = git_repos.git("rev-parse", "HEAD")
    after = git_source.fetch()

    assert after.commit == rewritten != before.commit
    assert (after.root / "version.txt").read_text() == "2-rewritten\n"
    assert (before.root / "version.txt").read_text() == "2\n"


def test_old_trees_are_pruned_but_the_current_one_is_kept(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    git_source = GitSource(
        str(git_repos.remote),
        ref="main",
        credentials=Credentials(),
        cache_root=tmp_path / "cache",
        keep_trees=2,
    )
    roots = []
    for number in range(4):
        git_repos.commit_and_push({"version.txt": f"{number}\n"}, f"Version {number}")
        roots.append(git_source.fetch().root)

    assert [root.is_dir() for root in roots] == [False, False, True, True]


def test_an_https_token_in_the_url_is_redacted_in_errors(tmp_path: Path) -> None:
    token = "ghp_s3cr3tT0ken"
    git_source = GitSource(
        f"http://user:{token}@127.0.0.1:1/shop/releases.git",
        ref="main",
        credentials=Credentials(),
        cache_root=tmp_path / "cache",
        timeout=30,
    )

    with pytest.raises(RemoteUnreachable) as caught:
        git_source.fetch()

    message = str(caught.value)
    assert message.startswith("http://***@127.0.0.1:1/shop/releases.git (ref main): ")
    assert "remote unreachable" in message
    assert token not in message and "user:" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert token not in repr(git_source.__dict__)
    assert not any(token in path.read_text(errors="replace") for path in _files(tmp_path))


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]


def test_a_remote_that_never_answers_is_cut_off_after_the_timeout(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        git_source = GitSource(
            f"http://127.0.0.1:{port}/repo.git",
            ref="main",
            credentials=Credentials(),
            cache_root=tmp_path / "cache",
            timeout=2,
        )
        started = time.monotonic()

        with pytest.raises(RemoteUnreachable, match="did not complete"):
            git_source.fetch()

    assert time.monotonic() - started < 30


def test_a_commit_of_status_files_alone_keeps_the_revision(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    content = git_repos.commit_and_push({"releases/shop/web.yaml": RELEASE}, "Add web")
    status = git_repos.commit_and_push({"status/shop/web.yaml": "state: Ready\n"}, "Status")

    snapshot = source(git_repos, tmp_path, ref="main").fetch()

    assert (snapshot.commit, snapshot.revision) == (status, content)
    changed = git_repos.commit_and_push(
        {"releases/shop/web.yaml": RELEASE + "paused: true\n"}, "Pause"
    )
    assert source(git_repos, tmp_path, ref="main").fetch().revision == changed


def test_in_a_subfolder_only_its_own_changes_make_a_revision(
    git_repos: GitRepos, tmp_path: Path
) -> None:
    content = git_repos.commit_and_push({"deploy/releases/shop/web.yaml": RELEASE}, "Add web")
    git_repos.commit_and_push({"deploy/status/README.md": "# status\n"}, "Status")
    git_repos.commit_and_push({"docs/notes.md": "elsewhere\n"}, "Docs")
    top_status = git_repos.commit_and_push({"status/x.yaml": "a: 1\n"}, "Top-level status")

    snapshot = source(git_repos, tmp_path, ref="main", subfolder="deploy").fetch()

    assert (snapshot.commit, snapshot.revision) == (top_status, content)
