"""Runs the helm binary the way every chart step needs it: isolated and cluster-blind.

Helm reads settings, plugins and repositories from the user's home and may reach
for a kubeconfig; here each run gets a fresh home and a kubeconfig that does not
exist, so results depend only on the arguments. Registry credentials and proxies
are passed through on purpose (`helm pull` of private OCI charts needs them).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PASSED_THROUGH = (
    "HELM_REGISTRY_CONFIG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TMPDIR",
)
"""Variables of Harmonia's own environment that helm may see; nothing else leaks in."""

HELM_NOT_FOUND = "helm not found: put it on PATH or set HARMONIA_HELM to its path"
"""Why a step that needs helm failed when none was found (as `find_tool` says it)."""
GO_RUNTIME_DEFAULTS = {"GOMAXPROCS": "1", "GOGC": "400"}
"""How each helm process runs, unless Harmonia's environment sets these itself: one
thread (Harmonia runs several helm processes side by side; helm's own parallel garbage
collection only competes with them) and a garbage collector that runs a fifth as often
(a run lives for tens of milliseconds). Together they cut helm's CPU per `helm template`
by about a third; `docs/benchmarks.md` has the figures."""

MESSAGE_LANGUAGE = {"LC_MESSAGES": "fr_FR.UTF-8"}
"""The language of kubectl's message catalogue, which helm links (for `helm status`) and
reads whenever it starts: the English catalogue, read for every language that has none
of its own, costs each run about 15 ms of CPU, a third of a `helm template`; the French
one, among the smallest, about 1 ms. Helm's own messages, its errors included, are not
translated, and no command Harmonia runs prints a catalogue message, so the output is
the same (`docs/benchmarks.md`, row 22, has the figures)."""

_ERROR_LINES = 20


@dataclass(frozen=True)
class HelmRun:
    ok: bool
    stdout: str
    error: str
    """Helm's own error message (its `Error:` prefix dropped), empty on success."""


def run_helm(
    helm: Path | None, args: Sequence[str], *, timeout: float, stdin: str | None = None
) -> HelmRun:
    """Run `helm ARGS` in a throw-away home, `stdin` its input; a run past `timeout`
    seconds is a failure, and so is no helm at all (None: only the step that needs it
    fails)."""
    if helm is None:
        return HelmRun(ok=False, stdout="", error=HELM_NOT_FOUND)
    with tempfile.TemporaryDirectory(prefix="harmonia-helm-") as home:
        try:
            completed = subprocess.run(
                [str(helm), *args],
                capture_output=True,
                text=True,
                env=helm_environment(Path(home)),
                input=stdin,
                stdin=subprocess.DEVNULL if stdin is None else None,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return HelmRun(ok=False, stdout="", error=f"helm did not finish within {timeout:g}s")
    if completed.returncode == 0:
        return HelmRun(ok=True, stdout=completed.stdout, error="")
    return HelmRun(ok=False, stdout=completed.stdout, error=error_text(completed.stderr))


def helm_environment(home: Path) -> dict[str, str]:
    """What helm (and harmonia-renderer) run with: only the variables above, `home` for
    every folder helm reads, and no kubeconfig."""
    environment = {name: os.environ.get(name, value) for name, value in GO_RUNTIME_DEFAULTS.items()}
    environment.update(MESSAGE_LANGUAGE)
    environment.update({name: os.environ[name] for name in PASSED_THROUGH if name in os.environ})
    environment.update(
        {
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "KUBECONFIG": str(home / "no-cluster"),
        }
    )
    return environment


def error_text(stderr: str) -> str:
    """Helm's error from its stderr: the `Error: ` line and what follows, at most 20 lines."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    # Warnings (symbolic links, deprecated charts) come before helm's error: keep the error.
    starts = [index for index, line in enumerate(lines) if line.startswith("Error: ")]
    if starts:
        lines = [lines[starts[0]].removeprefix("Error: "), *lines[starts[0] + 1 :]]
    return "\n".join(lines[-_ERROR_LINES:]) or "helm failed without a message"
