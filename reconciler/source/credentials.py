"""Credentials for the Git remote, handed to Git through its environment only.

https tokens (or user and password) reach Git through a GIT_ASKPASS helper that
reads them from the child's environment; SSH keys and the known_hosts file go
into GIT_SSH_COMMAND with strict host key checking. Nothing secret is put on a
command line, into the cached repository's config, or into a message.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.source.errors import SourceConfigError
from reconciler.source.urls import RemoteUrl

ENV_USERNAME = "HARMONIA_GIT_USERNAME"
ENV_TOKEN = "HARMONIA_GIT_TOKEN"
ENV_TOKEN_FILE = "HARMONIA_GIT_TOKEN_FILE"
ENV_SSH_KEY_FILE = "HARMONIA_GIT_SSH_KEY_FILE"
ENV_KNOWN_HOSTS_FILE = "HARMONIA_GIT_KNOWN_HOSTS_FILE"

# Any non-empty user name works with a token on GitHub and GitLab; this is GitHub's own.
DEFAULT_TOKEN_USERNAME = "x-access-token"
_ASKPASS_USERNAME = "HARMONIA_ASKPASS_USERNAME"
_ASKPASS_PASSWORD = "HARMONIA_ASKPASS_PASSWORD"
ASKPASS_SCRIPT = f"""#!/bin/sh
# Harmonia's GIT_ASKPASS helper: answers Git's prompts from its own environment.
case "$1" in
  Username*) printf '%s\\n' "${_ASKPASS_USERNAME}" ;;
  Password*) printf '%s\\n' "${_ASKPASS_PASSWORD}" ;;
  *) exit 1 ;;
esac
"""


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to the remote; every field optional.

    `token` is an https token or password (user name `username`, else
    `x-access-token`); `token_file` is read at every fetch, so a mounted secret
    can rotate. `ssh_key_file` must be private to its owner (ssh's own rule).
    `known_hosts_file`, when given, is the only source of trusted host keys.
    """

    username: str | None = None
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    ssh_key_file: Path | None = None
    known_hosts_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read the HARMONIA_GIT_* variables (empty ones count as unset)."""
        env = os.environ if environ is None else environ

        def path(name: str) -> Path | None:
            value = env.get(name, "").strip()
            return Path(value) if value else None

        return cls(
            username=env.get(ENV_USERNAME, "").strip() or None,
            token=env.get(ENV_TOKEN, "").strip() or None,
            token_file=path(ENV_TOKEN_FILE),
            ssh_key_file=path(ENV_SSH_KEY_FILE),
            known_hosts_file=path(ENV_KNOWN_HOSTS_FILE),
        )


@dataclass(frozen=True)
class GitAuth:
    """The environment for one Git command, and the values to scrub from its output."""

    env: dict[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)


def git_auth(
    remote: RemoteUrl, credentials: Credentials, *, askpass_program: Path, subject: str
) -> GitAuth:
    """The environment that authenticates Git to `remote` and never prompts.

    Credentials in the URL win over `credentials`. `credential.helper` is
    emptied so no helper of the host stores the token.
    """
    username = remote.username or credentials.username
    password = remote.password or credentials.token or _read_token(credentials, subject)
    config = {"credential.helper": ""}
    env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
        "GIT_ASKPASS": str(askpass_program),
        "GIT_SSH_VARIANT": "ssh",
        "GIT_SSH_COMMAND": ssh_command(credentials, subject=subject),
        "GIT_CONFIG_COUNT": str(len(config)),
        _ASKPASS_USERNAME: "",
        _ASKPASS_PASSWORD: "",
    }
    for index, (key, value) in enumerate(config.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if password and remote.transport in ("https", "http"):
        env[_ASKPASS_USERNAME] = username or DEFAULT_TOKEN_USERNAME
        env[_ASKPASS_PASSWORD] = password
    return GitAuth(env=env, secrets=tuple(s for s in (password, remote.password) if s))


def ssh_command(credentials: Credentials, *, subject: str) -> str:
    """The `ssh` command line for Git: batch mode, host keys always checked."""
    args = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
    args += ["-o", "ConnectTimeout=30"]
    if credentials.known_hosts_file is not None:
        known_hosts = _existing_file(credentials.known_hosts_file, "known_hosts", subject)
        args += ["-o", f"UserKnownHostsFile={known_hosts}"]
        args += ["-o", "GlobalKnownHostsFile=/dev/null"]
    if credentials.ssh_key_file is not None:
        key = _existing_file(credentials.ssh_key_file, "SSH key", subject)
        args += ["-i", key, "-o", "IdentitiesOnly=yes"]
    return shlex.join(args)


def ensure_askpass(folder: Path) -> Path:
    """Write the askpass helper (it holds no secret) into `folder`, once."""
    program = folder / "askpass.sh"
    if not program.is_file() or program.read_text() != ASKPASS_SCRIPT:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".askpass.{os.getpid()}.tmp"
        partial.write_text(ASKPASS_SCRIPT)
        partial.chmod(0o700)
        partial.replace(program)
    return program


def _read_token(credentials: Credentials, subject: str) -> str | None:
    if credentials.token_file is None:
        return None
    try:
        token = credentials.token_file.read_text().strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = f"cannot read the token file {credentials.token_file}: {type(err).__name__}"
        raise SourceConfigError(subject, reason) from None
    if not token:
        raise SourceConfigError(subject, f"the token file {credentials.token_file} is empty")
    return token


def _existing_file(path: Path, what: str, subject: str) -> str:
    text = str(path.absolute())
    if any(ch.isspace() or ch in "\"'" for ch in text):
        # ssh splits UserKnownHostsFile on whitespace; refuse rather than misread it.
        raise SourceConfigError(subject, f"the {what} file path may not contain spaces or quotes")
    if not path.is_file():
        raise SourceConfigError(subject, f"the {what} file {text} does not exist")
    return text
