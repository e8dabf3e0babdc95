"""The benchmark's own dev cluster: started on free ports with its own state folder.

Never the shared cluster the tests use. Besides starting it and removing it with its
state (each scenario gets a new one), this module counts the API server's requests
(`apiserver_request_total` from /metrics) and waits until the benchmark's Deployments
are Ready.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.generate import PART_OF, PART_OF_LABEL
from bench.kubeapi import ApiAccess
from devcluster.build import ensure_binaries
from devcluster.cluster import DevCluster, bootstrap_objects
from devcluster.state import Ports

REQUEST_METRIC = "apiserver_request_total"
MIN_EXTRA_NODES = 3
PODS_PER_EXTRA_NODE = 1000
"""The dev cluster's three nodes hold 110 pods each; N releases need N pods, and a rollout
briefly doubles a Deployment's pods."""
READY_POLL = 0.5

Progress = Callable[[str], None]


class BenchError(Exception):
    """A scenario could not run or did not reach its end state; the message says which."""


@dataclass(frozen=True)
class BenchCluster:
    kubeconfig: Path
    binaries: Mapping[str, Path]
    api: ApiAccess
    kubectl_cache: Path
    pids: Mapping[str, int] = field(default_factory=dict)
    """The cluster's processes (etcd, kube-apiserver, ...) by component name."""

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 1800) -> str:
        result = subprocess.run(
            [
                str(self.binaries["kubectl"]),
                f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={self.kubectl_cache}",
                *args,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise BenchError(f"kubectl {' '.join(args[:3])} failed: {result.stderr.strip()}")
        return result.stdout

    def request_count(self) -> float:
        """Requests the API server has served so far, all verbs, resources and codes."""
        total = 0.0
        for line in self.kubectl("get", "--raw", "/metrics").splitlines():
            if line.startswith(REQUEST_METRIC + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def cpu_seconds(self) -> float:
        """CPU-seconds the cluster's processes have used so far, all together: what a
        scenario costs the control plane, whatever else the machine runs meanwhile."""
        return sum(process_cpu_seconds(pid) for pid in self.pids.values())

    def background_rate(self, seconds: float) -> float:
        """Requests per second the API server serves while the benchmark sends nothing."""
        before = self.request_count()
        time.sleep(seconds)
        return (self.request_count() - before) / seconds

    def add_pod_capacity(self, pods: int) -> None:
        """KWOK nodes with room for `pods` benchmark pods twice over, shaped like the dev
        cluster's own."""
        template = next(o for o in bootstrap_objects() if o["kind"] == "Node")
        nodes = []
        for index in range(extra_nodes(pods)):
            node: Any = copy.deepcopy(template)
            name = f"bench-node-{index}"
            node["metadata"]["name"] = name
            node["metadata"]["labels"]["kubernetes.io/hostname"] = name
            for part in ("allocatable", "capacity"):
                node["status"][part]["pods"] = str(PODS_PER_EXTRA_NODE)
            nodes.append(node)
        self.kubectl(
            "apply", "--server-side", "--field-manager=harmonia-bench", "-f", "-",
            stdin=yaml.safe_dump_all(nodes),
        )  # fmt: skip
        self.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=120s")

    def deployments(self) -> list[dict[str, Any]]:
        listed = self.api.get_json(
            f"/apis/apps/v1/deployments?labelSelector={PART_OF_LABEL}%3D{PART_OF}"
        )
        items: list[dict[str, Any]] = listed.get("items") or []
        return items

    def wait_ready(self, expected: int, *, timeout: float) -> float:
        """Seconds until `expected` benchmark Deployments have finished rolling out."""
        started = time.monotonic()
        ready = 0
        while time.monotonic() - started < timeout:
            ready = sum(rolled_out(item) for item in self.deployments())
            if ready >= expected:
                return time.monotonic() - started
            time.sleep(READY_POLL)
        raise BenchError(f"{ready} of {expected} Deployments Ready after {timeout:.0f}s")

    def versions(self) -> dict[str, str]:
        server: Any = self.api.get_json("/version")
        helm = subprocess.run(
            [str(self.binaries["helm"]), "version", "--short"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        kubectl = self.kubectl("version", "--client", "-o", "yaml")
        client: Any = yaml.safe_load(kubectl)["clientVersion"]
        return {
            "kubernetes": str(server["gitVersion"]),
            "kubectl": str(client["gitVersion"]),
            "helm": helm,
        }


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU-seconds of a running process (/proc/<pid>/stat), 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def extra_nodes(pods: int) -> int:
    """Nodes of PODS_PER_EXTRA_NODE for `pods` pods, each of them rolling out at once."""
    return max(MIN_EXTRA_NODES, -(-2 * pods // PODS_PER_EXTRA_NODE))


def rolled_out(deployment: dict[str, Any]) -> bool:
    """Available with every replica on the current template (a rollout has finished)."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = spec.get("replicas", 1)
    return bool(
        status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
        and status.get("updatedReplicas", 0) == wanted
        and status.get("availableReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
    )


def _pids(dev: DevCluster) -> dict[str, int]:
    state = dev.state()
    return {name: record.pid for name, record in state.processes.items()} if state else {}


@contextmanager
def own_cluster(
    workdir: Path, progress: Progress, *, pods: int = PODS_PER_EXTRA_NODE
) -> Iterator[BenchCluster]:
    """A dev cluster for the benchmark alone with room for `pods` pods, stopped and removed
    afterwards."""
    binaries = ensure_binaries(progress)
    dev = DevCluster(workdir / "devcluster", progress=progress)
    info = dev.up(binaries, ports=Ports.free())
    try:
        cluster = BenchCluster(
            kubeconfig=info.kubeconfig,
            binaries=binaries,
            api=ApiAccess.from_kubeconfig(info.kubeconfig),
            kubectl_cache=workdir / "kubectl-cache",
            pids=_pids(dev),
        )
        cluster.add_pod_capacity(pods)
        yield cluster
    finally:
        dev.down()
