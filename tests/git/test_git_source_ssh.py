"""The Git source against a real git-over-SSH remote on loopback (an asyncssh server).

Host keys are checked against the known_hosts file given, never skipped: an
unknown or changed key refuses the fetch; a known key and an authorised client
key let it through.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncssh
import pytest

from reconciler.source import (
    AuthenticationFailed,
    Credentials,
    GitSource,
    HostKeyRejected,
    TemporaryError,
)
from tests.conftest import GitRepos
from tests.git.conftest import SshRemote

pytestmark = pytest.mark.git


def test_an_ssh_fetch_is_refused_when_the_host_key_is_not_in_known_hosts(
    git_repos: GitRepos, ssh_remote: SshRemote, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")
    credentials = Credentials(
        ssh_key_file=ssh_remote.client_key,
        known_hosts_file=ssh_remote.known_hosts(trusted=False),
    )

    with pytest.raises(HostKeyRejected) as caught:
        GitSource(
            ssh_remote.url(git_repos.remote),
            ref="main",
            credentials=credentials,
            cache_root=tmp_path / "cache",
        ).fetch()

    message = str(caught.value)
    assert message.startswith(f"ssh://***@127.0.0.1:{ssh_remote.port}{git_repos.remote} ")
    assert "SSH host key not trusted (it must be in the known_hosts file)" in message
    assert "Host key verification failed" in message
    assert caught.value.unreachable


def test_an_ssh_fetch_is_refused_when_the_host_key_has_changed(
    git_repos: GitRepos, ssh_remote: SshRemote, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    known_hosts = tmp_path / "known_hosts_changed"
    known_hosts.write_text(f"[127.0.0.1]:{ssh_remote.port} {impostor}")

    with pytest.raises(HostKeyRejected):
        GitSource(
            ssh_remote.url(git_repos.remote),
            ref="main",
            credentials=Credentials(
                ssh_key_file=ssh_remote.client_key, known_hosts_file=known_hosts
            ),
            cache_root=tmp_path / "cache",
        ).fetch()


def test_an_ssh_fetch_succeeds_with_a_known_host_key_and_an_authorised_client_key(
    git_repos: GitRepos, ssh_remote: SshRemote, tmp_path: Path
) -> None:
    sha = git_repos.commit_and_push({"releases/web.yaml": "name: web\n"}, "Add web")
    credentials = Credentials(
        ssh_key_file=ssh_remote.client_key,
        known_hosts_file=ssh_remote.known_hosts(trusted=True),
    )

    snapshot = GitSource(
        ssh_remote.url(git_repos.remote),
        ref="main",
        credentials=credentials,
        cache_root=tmp_path / "cache",
    ).fetch()

    assert snapshot.commit == sha and not snapshot.stale
    assert (snapshot.root / "releases/web.yaml").read_text() == "name: web\n"


def test_an_ssh_key_the_server_does_not_authorise_is_authentication_failed(
    git_repos: GitRepos, ssh_remote: SshRemote, tmp_path: Path
) -> None:
    git_repos.commit_and_push({"harmonia.yaml": "releases: releases\n"}, "Start")
    credentials = Credentials(
        ssh_key_file=ssh_remote.stranger_key,
        known_hosts_file=ssh_remote.known_hosts(trusted=True),
    )

    with pytest.raises(AuthenticationFailed, match="Permission denied"):
        GitSource(
            ssh_remote.url(git_repos.remote),
            ref="main",
            credentials=credentials,
            cache_root=tmp_path / "cache",
        ).fetch()


def test_a_fixed_commit_behind_the_tip_is_fetched_from_a_server_hiding_unadvertised_ones(
    git_repos: GitRepos, ssh_remote: SshRemote, tmp_path: Path
) -> None:
    pinned = git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")
    git_repos.commit_and_push({"version.txt": "2\n"}, "Version 2")
    credentials = Credentials(
        ssh_key_file=ssh_remote.client_key,
        known_hosts_file=ssh_remote.known_hosts(trusted=True),
    )

    snapshot = GitSource(
        ssh_remote.url(git_repos.remote),
        ref=pinned,
        credentials=credentials,
        cache_root=tmp_path / "cache",
    ).fetch()

    assert snapshot.commit == pinned
    assert (snapshot.root / "version.txt").read_text() == "1\n"


def test_a_ref_lock_left_in_the_cache_fails_the_fetch_as_a_temporary_error_naming_the_command(
    git_repos: GitRepos, ssh_remote: SshRemote, tmp_path: Path
) -> None:
    pinned = git_repos.commit_and_push({"version.txt": "1\n"}, "Version 1")
    git_repos.commit_and_push({"version.txt": "2\n"}, "Version 2")
    source = GitSource(
        ssh_remote.url(git_repos.remote),
        ref=pinned,
        credentials=Credentials(
            ssh_key_file=ssh_remote.client_key,
            known_hosts_file=ssh_remote.known_hosts(trusted=True),
        ),
        cache_root=tmp_path / "cache",
    )
    # What a Harmonia killed while recording the pinned commit leaves in its cache.
    bare = source.cache_folder / "repo.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    (bare / "refs/harmonia/commits").mkdir(parents=True)
    (bare / f"refs/harmonia/commits/{pinned}.lock").touch()

    with pytest.raises(TemporaryError) as caught:
        source.fetch()

    assert "git update-ref failed in the cache" in str(caught.value)
