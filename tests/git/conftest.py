"""Real remotes for the Git source's tests: an SSH server and a token-guarded HTTP server.

Each runs as a child process on a free loopback port (see `ssh_server.py` and
`http_server.py`), started for one test and terminated after it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import GitRepos

HERE = Path(__file__).parent


@dataclass(frozen=True)
class ServedRemote:
    port: int
    process: subprocess.Popen[str]


def _start(script: str, *args: str) -> ServedRemote:
    process = subprocess.Popen(
        [sys.executable, str(HERE / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.strip().isdigit():
        _stop(process)
        pytest.fail(f"{script} did not start (printed {line!r})")
    return ServedRemote(port=int(line), process=process)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


@dataclass(frozen=True)
class SshRemote:
    """A git-over-SSH server on loopback and the key material around it."""

    port: int
    host_public_key: str
    client_key: Path
    stranger_key: Path
    folder: Path

    def url(self, repository: Path) -> str:
        return f"ssh://git@127.0.0.1:{self.port}{repository}"

    def known_hosts(self, *, trusted: bool, name: str = "known_hosts") -> Path:
        """A known_hosts file holding the server's key, or an empty one."""
        path = self.folder / name
        line = f"[127.0.0.1]:{self.port} {self.host_public_key}\n"
        path.write_text(line if trusted else "")
        return path


def _write_private_key(key: asyncssh.SSHKey, path: Path) -> Path:
    key.write_private_key(str(path))
    path.chmod(0o600)
    return path


@pytest.fixture()
def ssh_remote(tmp_path: Path) -> Iterator[SshRemote]:
    folder = tmp_path / "ssh"
    folder.mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    stranger_key = asyncssh.generate_private_key("ssh-ed25519")
    _write_private_key(host_key, folder / "host_key")
    client_key.write_public_key(str(folder / "authorized_keys"))
    served = _start(
        "ssh_server.py",
        "--host-key",
        str(folder / "host_key"),
        "--authorized-keys",
        str(folder / "authorized_keys"),
    )
    try:
        yield SshRemote(
            port=served.port,
            host_public_key=host_key.export_public_key().decode().strip(),
            client_key=_write_private_key(client_key, folder / "client_key"),
            stranger_key=_write_private_key(stranger_key, folder / "stranger_key"),
            folder=folder,
        )
    finally:
        _stop(served.process)


@dataclass(frozen=True)
class HttpRemote:
    """A smart-HTTP server on loopback serving a folder of repositories to one token."""

    port: int
    token: str

    def url(self, repository: Path) -> str:
        return f"http://127.0.0.1:{self.port}/{repository.name}"


@pytest.fixture()
def http_remote(git_repos: GitRepos, tmp_path: Path) -> Iterator[HttpRemote]:
    token = "tok-3f9a7c1e5b"
    served = _start("http_server.py", "--root", str(tmp_path), "--token", token)
    try:
        yield HttpRemote(port=served.port, token=token)
    finally:
        _stop(served.process)
