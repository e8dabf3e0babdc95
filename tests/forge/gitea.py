"""A real Gitea on loopback for the forge tests: the pinned module built once and cached
(devcluster/build.py), a fresh instance per test with SQLite, an admin and its token.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

OWNER = "harmonia"
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Gitea:
    url: str
    """The web root, `http://127.0.0.1:<port>`."""
    token: str = field(repr=False)

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _app_ini(folder: Path, port: int, static_root: Path) -> str:
    return f"""APP_NAME = harmonia-test
RUN_MODE = prod
RUN_USER = {getpass.getuser()}
WORK_PATH = {folder}

[server]
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {port}
ROOT_URL = http://127.0.0.1:{port}/
STATIC_ROOT_PATH = {static_root}
DISABLE_SSH = true
OFFLINE_MODE = true
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = {folder}/gitea.db

[security]
INSTALL_LOCK = true

[service]
DISABLE_REGISTRATION = true

[repository]
ROOT = {folder}/repositories

[indexer]
REPO_INDEXER_ENABLED = false

[log]
MODE = console
LEVEL = warn
"""


@contextmanager
def running_gitea(binary: Path, folder: Path) -> Iterator[Gitea]:
    """A Gitea serving from `folder` until the block ends."""
    port = _free_port()
    config = folder / "app.ini"
    config.write_text(_app_ini(folder, port, binary.parent))
    env = {**os.environ, "HOME": str(folder), "GITEA_WORK_DIR": str(folder)}
    if os.geteuid() == 0:  # test containers run as root; Gitea refuses that unless told
        env["GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT"] = "true"
    base = [str(binary), "--config", str(config), "--work-path", str(folder)]

    def admin(*args: str) -> str:
        done = subprocess.run(
            [*base, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip()

    admin("migrate")
    admin(
        "admin", "user", "create", "--admin", "--username", OWNER, "--email",
        "harmonia@example.com", "--password", "not-a-real-password-1!",
        "--must-change-password=false",
    )  # fmt: skip
    token = admin(
        "admin", "user", "generate-access-token", "--username", OWNER, "--token-name",
        "tests", "--scopes", "all", "--raw",
    ).splitlines()[-1]  # fmt: skip
    log = (folder / "web.log").open("w")
    server = subprocess.Popen([*base, "web"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, (folder / "web.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/api/v1/version", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "Gitea did not answer within a minute"
                time.sleep(0.2)
        yield Gitea(url, token)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
