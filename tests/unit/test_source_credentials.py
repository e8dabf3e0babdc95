"""How the Git source hands credentials to Git: environment only, host keys always checked."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from reconciler.source import Credentials, SourceConfigError
from reconciler.source.credentials import ensure_askpass, git_auth, ssh_command
from reconciler.source.urls import parse_remote_url

SUBJECT = "https://h/r.git (ref main)"


def test_credentials_are_read_from_the_harmonia_git_variables(tmp_path: Path) -> None:
    credentials = Credentials.from_env(
        {
            "HARMONIA_GIT_USERNAME": "bot",
            "HARMONIA_GIT_TOKEN": "t0k",
            "HARMONIA_GIT_TOKEN_FILE": str(tmp_path / "token"),
            "HARMONIA_GIT_SSH_KEY_FILE": str(tmp_path / "key"),
            "HARMONIA_GIT_KNOWN_HOSTS_FILE": "",
        }
    )

    assert credentials == Credentials(
        username="bot", token="t0k", token_file=tmp_path / "token", ssh_key_file=tmp_path / "key"
    )
    assert "t0k" not in repr(credentials)


def test_a_token_reaches_git_only_through_the_askpass_environment(tmp_path: Path) -> None:
    askpass = ensure_askpass(tmp_path)

    auth = git_auth(
        parse_remote_url("https://h/r.git"),
        Credentials(token="t0k"),
        askpass_program=askpass,
        subject=SUBJECT,
    )

    assert auth.env["GIT_ASKPASS"] == str(askpass)
    assert auth.env["GIT_TERMINAL_PROMPT"] == "0"
    assert "t0k" not in askpass.read_text()
    assert auth.secrets == ("t0k",)
    assert "t0k" not in repr(auth)
    prompts = {
        prompt: subprocess.run(
            [str(askpass), prompt], env={**os.environ, **auth.env}, capture_output=True, text=True
        ).stdout
        for prompt in ("Username for 'https://h': ", "Password for 'https://x-access-token@h': ")
    }
    assert list(prompts.values()) == ["x-access-token\n", "t0k\n"]


def test_no_credential_helper_may_store_the_token(tmp_path: Path) -> None:
    auth = git_auth(
        parse_remote_url("https://h/r.git"),
        Credentials(token="t0k"),
        askpass_program=ensure_askpass(tmp_path),
        subject=SUBJECT,
    )

    assert auth.env["GIT_CONFIG_COUNT"] == "1"
    assert (auth.env["GIT_CONFIG_KEY_0"], auth.env["GIT_CONFIG_VALUE_0"]) == (
        "credential.helper",
        "",
    )


def test_credentials_in_the_url_win_over_the_configured_ones(tmp_path: Path) -> None:
    auth = git_auth(
        parse_remote_url("https://me:from-url@h/r.git"),
        Credentials(username="bot", token="from-env"),
        askpass_program=ensure_askpass(tmp_path),
        subject=SUBJECT,
    )

    assert (auth.env["HARMONIA_ASKPASS_USERNAME"], auth.env["HARMONIA_ASKPASS_PASSWORD"]) == (
        "me",
        "from-url",
    )


def test_a_token_is_never_offered_to_an_ssh_remote(tmp_path: Path) -> None:
    auth = git_auth(
        parse_remote_url("git@h:org/r.git"),
        Credentials(token="t0k"),
        askpass_program=ensure_askpass(tmp_path),
        subject=SUBJECT,
    )

    assert auth.env["HARMONIA_ASKPASS_PASSWORD"] == ""


def test_an_empty_or_missing_token_file_is_a_config_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for token_file in (empty, tmp_path / "missing"):
        with pytest.raises(SourceConfigError):
            git_auth(
                parse_remote_url("https://h/r.git"),
                Credentials(token_file=token_file),
                askpass_program=ensure_askpass(tmp_path),
                subject=SUBJECT,
            )


def test_ssh_always_checks_host_keys_even_without_a_known_hosts_file() -> None:
    args = shlex.split(ssh_command(Credentials(), subject=SUBJECT))

    assert "StrictHostKeyChecking=yes" in args
    assert "BatchMode=yes" in args
    assert not any("StrictHostKeyChecking=no" in arg or "/dev/null" in arg for arg in args)


def test_ssh_uses_only_the_given_key_and_only_the_given_known_hosts(tmp_path: Path) -> None:
    key, known_hosts = tmp_path / "id_ed25519", tmp_path / "known_hosts"
    key.write_text("key")
    known_hosts.write_text("")

    args = shlex.split(
        ssh_command(Credentials(ssh_key_file=key, known_hosts_file=known_hosts), subject=SUBJECT)
    )

    assert args[args.index("-i") + 1] == str(key)
    assert "IdentitiesOnly=yes" in args
    assert f"UserKnownHostsFile={known_hosts}" in args
    assert "GlobalKnownHostsFile=/dev/null" in args
    assert "StrictHostKeyChecking=yes" in args


def test_a_missing_known_hosts_file_is_a_config_error_not_a_silent_skip(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="known_hosts file"):
        ssh_command(Credentials(known_hosts_file=tmp_path / "absent"), subject=SUBJECT)


def test_a_key_path_with_spaces_is_refused_rather_than_misread(tmp_path: Path) -> None:
    key = tmp_path / "my key"
    key.write_text("key")

    with pytest.raises(SourceConfigError, match="spaces"):
        ssh_command(Credentials(ssh_key_file=key), subject=SUBJECT)
