"""One `harmonia apply` pass as the benchmark measures it: time, API requests, peak RSS.

The command runs as a subprocess, exactly as a user or CronJob runs it, with a render
and discovery cache of its own (a fresh one makes the pass cold). Its peak RSS is the
high-water mark the kernel keeps for it (`VmHWM`), read until it exits; its children (the
long-lived harmonia-renderer, or `helm template` without it) are not included. The pass
renders with the harmonia-renderer the benchmark's binaries include, as a deployed
reconciler does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.cluster import BenchCluster, BenchError
from reconciler.render.helm.renderer import RENDERER_VARIABLE

RSS_POLL = 0.05
LOG_TAIL_LINES = 15


@dataclass(frozen=True)
class PassMeasure:
    seconds: float
    requests: float
    """Difference in the API server's request counter over the pass (all clients)."""
    peak_rss_mib: float
    cpu_seconds: float
    """User and system CPU of the harmonia process and the children it waited for (its
    renderer)."""
    cluster_cpu_seconds: float
    summary: str
    """The pass's last line (`N releases, F not applied, revision ..., Ts, R API requests`)."""


def high_water_mib(pid: int) -> float | None:
    """The process's peak RSS so far (the kernel's VmHWM), None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def apply_command(cluster: BenchCluster, repository: Path) -> list[str]:
    return [
        sys.executable, "-m", "reconciler", "apply", str(repository),
        "--kubeconfig", str(cluster.kubeconfig), "--helm", str(cluster.binaries["helm"]),
    ]  # fmt: skip


def harmonia_apply(
    cluster: BenchCluster,
    repository: Path,
    *,
    cache: Path,
    log: Path,
    wrapper: Sequence[str] = (),
) -> PassMeasure:
    """Run one pass over `repository`; a pass that fails any release is an error.

    `wrapper` runs the command under another (a profiler); the RSS is then the wrapper's.
    """
    env = {
        **os.environ,
        "HARMONIA_CACHE_DIR": str(cache),
        "HARMONIA_KUBECTL": str(cluster.binaries["kubectl"]),
        RENDERER_VARIABLE: str(cluster.binaries["harmonia-renderer"]),
    }
    before = cluster.request_count()
    cluster_cpu = cluster.cpu_seconds()
    peak = 0.0
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(
            [*wrapper, *apply_command(cluster, repository)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, high_water_mib(process.pid) or 0.0)
            time.sleep(RSS_POLL)
    seconds = time.monotonic() - started
    cluster_cpu = cluster.cpu_seconds() - cluster_cpu
    process.returncode = os.waitstatus_to_exitcode(status)
    requests = cluster.request_count() - before
    lines = [
        line
        for line in log.read_text().splitlines()
        if line.strip() and not line.startswith("py-spy>")
    ]
    if process.returncode != 0:
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        raise BenchError(f"harmonia apply exited {process.returncode}; log {log}:\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    return PassMeasure(seconds, requests, peak, cpu, cluster_cpu, lines[-1] if lines else "")
