"""Real chart servers on loopback for the chart-source tests.

`ChartRepositoryServer` is a Helm chart repository (a folder made with `helm
package` and `helm repo index`) served by an `http.server` thread, optionally
demanding a bearer token; `OciRegistry` runs Debian's `docker-registry` binary
with its storage in a temporary folder. Each is started by a test and stopped by it.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOCKER_REGISTRY = Path("/usr/bin/docker-registry")
_START_TIMEOUT = 20.0


class _ChartRepositoryHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, server_state: ChartRepositoryServer, **kwargs: Any) -> None:
        self.server_state = server_state
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.server_state.requests.append(self.path)
        token = self.server_state.token
        if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="harmonia-tests"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests look at `requests` instead."""


class ChartRepositoryServer:
    """Serves `folder` on a free loopback port until `stop()`; records each request path.

    The chart repository is its `charts/` subfolder, so archive URLs resolve
    against a path, as on real servers.
    """

    def __init__(self, folder: Path, *, token: str | None = None) -> None:
        self.folder = folder
        self.token = token
        self.requests: list[str] = []
        handler = partial(_ChartRepositoryHandler, server_state=self, directory=str(folder))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/charts"

    @property
    def repository_folder(self) -> Path:
        return self.folder / "charts"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class OciRegistry:
    """A `docker-registry` (CNCF distribution) on a free loopback port, storage in `folder`."""

    def __init__(self, folder: Path, *, binary: Path = DOCKER_REGISTRY) -> None:
        self.port = _free_port()
        config = folder / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {folder / 'storage'}\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
        )
        self._log = (folder / "registry.log").open("w")
        self._process = subprocess.Popen(
            [str(binary), "serve", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._log_path = folder / "registry.log"
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    @property
    def address(self) -> str:
        """`host:port`, as helm references and `plain_http_registries` name it."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._log.close()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"docker-registry exited with {self._process.returncode}: "
                    f"{self._log_path.read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not answer on {self.address} in {_START_TIMEOUT}s")


def run_helm_cli(helm: Path, *args: str, home: Path) -> str:
    """Run helm as a person would (package, repo index, push), with its home in `home`."""
    environment = {
        "HOME": str(home),
        "KUBECONFIG": str(home / "no-cluster"),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, env=environment, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def publish_chart_repository(
    helm: Path, charts: list[Path], folder: Path, *, home: Path, url: str | None = None
) -> None:
    """`helm package` each chart into `folder`, then `helm repo index` it.

    With `url`, the index gives absolute archive URLs under it; else relative ones.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for chart in charts:
        run_helm_cli(helm, "package", str(chart), "--destination", str(folder), home=home)
    run_helm_cli(helm, "repo", "index", str(folder), *(["--url", url] if url else []), home=home)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
