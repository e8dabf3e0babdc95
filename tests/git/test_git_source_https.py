"""The Git source against a real smart-HTTP remote that demands a token.

Shows the token reaches Git through the askpass helper only: the fetch works,
and the token is in no message, cached file or repository config.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.source import AuthenticationFailed, Credentials, GitSource
from tests.conftest import GitRepos
from tests.git.conftest import HttpRemote

pytestmark = pytest.mark.git


def _text_of_every_file(folder: Path) -> str:
    return "".join(
        path.read_text(errors="replace")
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    )


def test_a_token_from_a_file_authenticates_and_is_stored_nowhere(
    git_repos: GitRepos, http_remote: HttpRemote, tmp_path: Path
) -> None:
    sha = git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")
    token_file = tmp_path / "secrets" / "token"
    token_file.parent.mkdir()
    token_file.write_text(http_remote.token + "\n")
    cache = tmp_path / "cache"

    snapshot = GitSource(
        http_remote.url(git_repos.remote),
        ref="main",
        credentials=Credentials(token_file=token_file),
        cache_root=cache,
    ).fetch()

    assert snapshot.commit == sha and not snapshot.stale
    assert http_remote.token not in _text_of_every_file(cache)


def test_a_token_in_the_url_authenticates_and_is_shown_redacted(
    git_repos: GitRepos, http_remote: HttpRemote, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")
    url = http_remote.url(git_repos.remote).replace("://", f"://bot:{http_remote.token}@")

    snapshot = GitSource(
        url, ref="main", credentials=Credentials(), cache_root=tmp_path / "cache"
    ).fetch()

    assert snapshot.url == f"http://***@127.0.0.1:{http_remote.port}/remote.git"
    assert http_remote.token not in _text_of_every_file(tmp_path / "cache")


def test_a_refused_token_is_authentication_failed_and_never_echoed(
    git_repos: GitRepos, http_remote: HttpRemote, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")
    wrong = "wrong-token-81d2"

    with pytest.raises(AuthenticationFailed) as caught:
        GitSource(
            http_remote.url(git_repos.remote),
            ref="main",
            credentials=Credentials(token=wrong),
            cache_root=tmp_path / "cache",
        ).fetch()

    assert caught.value.unreachable
    assert "authentication failed" in str(caught.value)
    assert wrong not in str(caught.value)


def test_a_rotated_token_file_is_read_again_at_the_next_fetch(
    git_repos: GitRepos, http_remote: HttpRemote, tmp_path: Path
) -> None:
    sha = git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")
    token_file = tmp_path / "token"
    token_file.write_text("expired-token")
    git_source = GitSource(
        http_remote.url(git_repos.remote),
        ref="main",
        credentials=Credentials(token_file=token_file),
        cache_root=tmp_path / "cache",
    )
    with pytest.raises(AuthenticationFailed):
        git_source.fetch()

    token_file.write_text(http_remote.token)

    assert git_source.fetch().commit == sha
